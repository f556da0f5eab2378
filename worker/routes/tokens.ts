import { Hono } from "hono";
import { and, desc, eq } from "drizzle-orm";
import { z } from "zod";
import { type ApiToken, CreateToken, type CreatedToken, type TokensBody } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { sha256Hex, signJwt } from "../auth/crypto";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError, notFound } from "../lib/errors";
import { log } from "../../edge/log";
import { DAY_MS, nowIso } from "../../edge/time";
import { readBody, readParams } from "../lib/validate";
import { closeDevicesOfToken } from "../devices/hubs";
import { userHub } from "../../durable-objects/contract";
import { revokeFamiliesOfToken } from "../auth/credentials";
import { liveTag } from "./live";

export const tokenRoutes = new Hono<AppEnv>();

// Token management needs a signed-in browser: a leaked device token must not mint more.
tokenRoutes.use("*", requireUser({ tokens: false }));

function toApiToken(row: typeof schema.apiTokens.$inferSelect): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
    boundDeviceId: row.boundDeviceId,
  };
}

tokenRoutes.post("/", async (c) => {
  const { name, days, scope } = await readBody(c, CreateToken);
  const user = c.get("user");
  if (scope === "cloud" && !user.isAdmin) {
    throw new ApiError(403, "forbidden", "Only admins can create operator (cloud) tokens.");
  }
  const id = crypto.randomUUID();
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + days * 86_400;
  const expiresAt = new Date(iat * 1000 + days * DAY_MS).toISOString();
  const token = await signJwt(
    { typ: "api", sub: user.id, jti: id, scope, iat, exp },
    c.env.JWT_SECRET,
  );
  await database(c.env.DB)
    .insert(schema.apiTokens)
    .values({ id, userId: user.id, name, scope, tokenHash: await sha256Hex(token), expiresAt })
    .run();
  log({ event: "token.created", userId: user.id, tokenId: id, scope, days });
  const created: CreatedToken = { id, name, scope, token, expiresAt };
  return c.json(created, 201);
});

tokenRoutes.get("/", async (c) => {
  const rows = await database(c.env.DB)
    .select()
    .from(schema.apiTokens)
    .where(eq(schema.apiTokens.userId, c.get("user").id))
    .orderBy(desc(schema.apiTokens.createdAt))
    .all();
  return c.json({ tokens: rows.map(toApiToken) } satisfies TokensBody);
});

const TokenPath = z.object({ id: z.string().uuid("token id must be a UUID") });

tokenRoutes.delete("/:id", async (c) => {
  const { id } = readParams(c, TokenPath);
  const user = c.get("user");
  const db = database(c.env.DB);
  const where = and(eq(schema.apiTokens.id, id), eq(schema.apiTokens.userId, user.id));
  const row = await db.select().from(schema.apiTokens).where(where).get();
  // Another user's token is "not found": never confirm it exists.
  if (!row) throw notFound("token");
  if (!row.revokedAt) {
    await db.update(schema.apiTokens).set({ revokedAt: nowIso() }).where(where).run();
  }
  // Everything the token opened closes: device sockets, the credential families it started,
  // and live channels opened with it.
  const devicesClosed =
    (await closeDevicesOfToken(c.env, id)) + (await revokeFamiliesOfToken(c.env, id));
  await userHub(c.env, user.id).closeSession(liveTag({ kind: "token", tokenId: id }));
  log({ event: "token.revoked", userId: user.id, tokenId: id, devicesClosed });
  const updated = await db.select().from(schema.apiTokens).where(where).get();
  return c.json({ token: toApiToken(updated ?? row) });
});
