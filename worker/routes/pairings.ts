import { Hono } from "hono";
import { and, eq, gt, isNull, lt } from "drizzle-orm";
import { z } from "zod";
import {
  ApprovePairing,
  formatPairingCode,
  PAIRING_ALPHABET,
  PAIRING_TTL_MS,
  type PairingApproved,
  type PairingPoll,
  type PairingStarted,
  StartPairing,
} from "@wegent/protocol";
import { base64url, sha256Hex } from "../auth/crypto";
import { startFamily } from "../auth/credentials";
import { type AppEnv, bearerToken, requireUser } from "../auth/identity";
import { clientAddress, rateLimit } from "../auth/throttle";
import { auditNote, personOnly } from "../auth/person";
import { ApiError } from "../lib/errors";
import { log } from "../../edge/log";
import { readBody, readParams } from "../lib/validate";
import { database, schema } from "../../edge/db";

const { pairings } = schema;

// Pairing: an executor with no secret asks for a code (no auth), its owner approves the code
// while signed in, and the executor's next poll (with the poll secret only it holds) receives
// a device credential, once.

export const pairingRoutes = new Hono<AppEnv>();

const START_LIMIT = { limit: 10, windowMs: 10 * 60_000 };
const APPROVE_LIMIT = { limit: 20, windowMs: 10 * 60_000 };

/** 8 characters from a 32-letter alphabet, uniformly (32 divides 256). */
function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => PAIRING_ALPHABET[b % PAIRING_ALPHABET.length]).join("");
}

const expired = () =>
  new ApiError(410, "pairing_expired", "This pairing code expired. Start the executor again.");
// Approving a used code is a conflict (409); polling a consumed pairing is gone (410).
const used = (status: 409 | 410 = 409) =>
  new ApiError(status, "pairing_used", "This pairing was already used. Start the executor again.");

pairingRoutes.post("/start", async (c) => {
  await rateLimit(
    c.env.DB,
    { key: `pair:start:${clientAddress(c)}`, ...START_LIMIT },
    "pairing requests from your network",
  );
  const body = await readBody(c, StartPairing);
  const pairingId = crypto.randomUUID();
  const pollSecret = `wps_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  const expiresAt = Date.now() + PAIRING_TTL_MS;
  // Old rows go (their codes free up); a code collision is retried.
  const db = database(c.env.DB);
  await db
    .delete(pairings)
    .where(lt(pairings.expiresAt, Date.now() - 86_400_000))
    .run();
  let code = "";
  for (let attempt = 0; attempt < 5 && !code; attempt++) {
    const candidate = newCode();
    const inserted = await db
      .insert(pairings)
      .values({
        id: pairingId,
        code: candidate,
        pollSecretHash: await sha256Hex(pollSecret),
        deviceId: body.deviceId,
        name: body.name,
        platform: body.platform,
        deviceType: "local",
        expiresAt,
      })
      .onConflictDoNothing({ target: pairings.code })
      .run();
    if (inserted.meta.changes === 1) code = candidate;
  }
  if (!code) throw new Error("could not find a free pairing code");
  log({ event: "pairing.started", pairingId, deviceId: body.deviceId });
  const shown = formatPairingCode(code);
  const started: PairingStarted = {
    pairingId,
    code: shown,
    pollSecret,
    expiresAt: new Date(expiresAt).toISOString(),
    approveUrl: `${new URL(c.req.url).origin}/devices?pair=${shown}`,
  };
  return c.json(started, 201);
});

const PairingPath = z.object({ id: z.string().uuid("pairing id must be a UUID") });

pairingRoutes.get("/:id", async (c) => {
  const { id } = readParams(c, PairingPath);
  const secret = bearerToken(c.req.header("Authorization"));
  const db = database(c.env.DB);
  const row = await db.select().from(pairings).where(eq(pairings.id, id)).get();
  if (!row || !secret || (await sha256Hex(secret)) !== row.pollSecretHash) {
    throw new ApiError(404, "pairing_not_found", "No such pairing (or the wrong poll secret).");
  }
  if (row.consumedAt) throw used(410);
  if (row.approvedBy) {
    // Exactly once: only the poll that flips consumed_at gets the credential.
    const claimed = await db
      .update(pairings)
      .set({ consumedAt: new Date().toISOString() })
      .where(and(eq(pairings.id, id), isNull(pairings.consumedAt)))
      .returning({ id: pairings.id })
      .get();
    if (!claimed) throw used(410);
    const credential = await startFamily(c.env, {
      ownerId: row.approvedBy,
      deviceId: row.deviceId,
      deviceType: "local",
      sourceTokenId: null,
    });
    log({ event: "pairing.consumed", pairingId: id, deviceId: row.deviceId });
    const approved: PairingPoll = { state: "approved", credential, deviceId: row.deviceId };
    return c.json(approved);
  }
  if (row.expiresAt <= Date.now()) throw expired();
  const pending: PairingPoll = {
    state: "pending",
    expiresAt: new Date(row.expiresAt).toISOString(),
  };
  return c.json(pending);
});

// Approving hands a device credential to whoever started the pairing: a person's act.
pairingRoutes.post("/", requireUser(), personOnly("pairing.approve"), async (c) => {
  const user = c.get("user");
  await rateLimit(
    c.env.DB,
    { key: `pair:approve:${user.id}`, ...APPROVE_LIMIT },
    "pairing approvals",
  );
  const { code } = await readBody(c, ApprovePairing);
  auditNote(c, null, `code ${formatPairingCode(code)}`);
  const db = database(c.env.DB);
  const row = await db
    .update(pairings)
    .set({ approvedBy: user.id, approvedAt: new Date().toISOString() })
    .where(
      and(eq(pairings.code, code), isNull(pairings.approvedBy), gt(pairings.expiresAt, Date.now())),
    )
    .returning()
    .get();
  if (!row) {
    const existing = await db.select().from(pairings).where(eq(pairings.code, code)).get();
    if (!existing) {
      throw new ApiError(404, "pairing_not_found", `No pairing code ${formatPairingCode(code)}.`);
    }
    if (existing.approvedBy) throw used();
    throw expired();
  }
  log({ event: "pairing.approved", pairingId: row.id, userId: user.id, deviceId: row.deviceId });
  auditNote(c, row.deviceId, `${row.name} (${row.platform})`);
  const approved: PairingApproved = { deviceId: row.deviceId, name: row.name };
  return c.json(approved);
});
