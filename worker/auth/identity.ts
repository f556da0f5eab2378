import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { and, eq, isNull } from "drizzle-orm";
import type { TokenScope } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { ApiError } from "../lib/errors";
import { log } from "../../edge/log";
import { nowIso } from "../../edge/time";
import { sha256Hex, verifyJwtSignature } from "./crypto";

export interface AuthUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

export type AuthVia =
  | { kind: "session"; sessionId: string }
  | { kind: "token"; tokenId: string; scope: TokenScope; expiresAt: string };

/** What a person-only route records in the owner's audit (never a secret). */
export interface AuditNote {
  target: string | null;
  detail: string | null;
}

export type AppEnv = {
  Bindings: Env;
  Variables: { user: AuthUser; via: AuthVia; audit: AuditNote };
};
export type AppContext = Context<AppEnv>;

export const SESSION_COOKIE = "wegent_session";

/** Device credentials start with this; never a JWT. */
export const CREDENTIAL_PREFIX = "wdc_";

const FIX = "Generate a new one in Settings → API Token.";

export interface VerifiedToken {
  user: AuthUser;
  tokenId: string;
  scope: TokenScope;
  expiresAt: string;
  boundDeviceId: string | null;
  /** A `device` token is worth one exchange for a device credential: when it happened. */
  exchangedAt: string | null;
}

/** Verifies an API token (the executor's `--token`, or an API client's bearer). */
export async function verifyApiToken(
  env: Env,
  token: string,
  waitUntil?: (p: Promise<unknown>) => void,
): Promise<VerifiedToken> {
  const claims = await verifyJwtSignature(token, env.JWT_SECRET);
  const jti = typeof claims?.jti === "string" ? claims.jti : null;
  if (!claims || claims.typ !== "api" || !jti) {
    log({ event: "token.refused", tokenId: null, code: "invalid_token" }, "warn");
    throw new ApiError(401, "invalid_token", `This API token is not valid. ${FIX}`);
  }
  const db = database(env.DB);
  const row = await db
    .select({
      token: schema.apiTokens,
      user: { id: schema.users.id, username: schema.users.username, isAdmin: schema.users.isAdmin },
    })
    .from(schema.apiTokens)
    .innerJoin(schema.users, eq(schema.users.id, schema.apiTokens.userId))
    .where(eq(schema.apiTokens.id, jti))
    .get();
  if (!row || row.token.tokenHash !== (await sha256Hex(token))) {
    log({ event: "token.refused", tokenId: jti, code: "invalid_token" }, "warn");
    throw new ApiError(401, "invalid_token", `This API token is not valid. ${FIX}`);
  }
  if (row.token.revokedAt) {
    log({ event: "token.refused", tokenId: jti, code: "token_revoked" }, "warn");
    throw new ApiError(401, "token_revoked", `This API token was revoked. ${FIX}`);
  }
  if (Date.parse(row.token.expiresAt) <= Date.now()) {
    log({ event: "token.refused", tokenId: jti, code: "token_expired" }, "warn");
    throw new ApiError(
      401,
      "token_expired",
      `This API token expired on ${row.token.expiresAt}. ${FIX}`,
    );
  }
  // Record use at most once a minute: no D1 write on every request.
  const last = row.token.lastUsedAt ? Date.parse(row.token.lastUsedAt) : 0;
  if (Date.now() - last > 60_000) {
    const write = db
      .update(schema.apiTokens)
      .set({ lastUsedAt: nowIso() })
      .where(eq(schema.apiTokens.id, jti))
      .run();
    if (waitUntil) waitUntil(write);
    else await write;
  }
  return {
    user: row.user,
    tokenId: jti,
    scope: row.token.scope,
    expiresAt: row.token.expiresAt,
    boundDeviceId: row.token.boundDeviceId,
    exchangedAt: row.token.exchangedAt,
  };
}

/** Verifies the browser's session cookie; null when absent, expired or signed out. */
export async function verifySession(
  env: Env,
  cookie: string | undefined,
): Promise<{ user: AuthUser; sessionId: string; expiresAt: string } | null> {
  if (!cookie) return null;
  const claims = await verifyJwtSignature(cookie, env.JWT_SECRET);
  if (!claims || claims.typ !== "session" || typeof claims.sid !== "string") return null;
  if (claims.exp * 1000 <= Date.now()) return null;
  const row = await database(env.DB)
    .select({ id: schema.users.id, username: schema.users.username, isAdmin: schema.users.isAdmin })
    .from(schema.sessions)
    .innerJoin(schema.users, eq(schema.users.id, schema.sessions.userId))
    .where(and(eq(schema.sessions.id, claims.sid), isNull(schema.sessions.revokedAt)))
    .get();
  return row
    ? { user: row, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000).toISOString() }
    : null;
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export const sessionRequired = () =>
  new ApiError(
    403,
    "session_required",
    "Only a signed-in person may do this: it hands out the power to run code on your devices. Sign in to the web UI and do it there; an API token can read it, not change it.",
  );

export const tokenScopeError = () =>
  new ApiError(
    403,
    "token_scope",
    "This credential may only connect its device (GET /api/devices/connect, POST /api/devices/credential). Use an account API token or sign in.",
  );

/**
 * Requires a signed-in browser (session cookie) or, when `tokens` is allowed, an API token
 * of scope `user` in `Authorization: Bearer`. Device credentials and device/cloud tokens are
 * refused with 403 `token_scope` everywhere this guards.
 */
export function requireUser(
  options: { tokens: boolean } = { tokens: true },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Routers mounted at the same path each guard their routes: verify a request once.
    const via = c.get("via") as AuthVia | undefined;
    if (via) {
      if (via.kind === "token" && !options.tokens) throw sessionRequired();
      return next();
    }
    const bearer = bearerToken(c.req.header("Authorization"));
    if (bearer) {
      if (bearer.startsWith(CREDENTIAL_PREFIX)) throw tokenScopeError();
      const verified = await verifyApiToken(c.env, bearer, (p) => c.executionCtx.waitUntil(p));
      if (verified.scope !== "user") throw tokenScopeError();
      if (!options.tokens) throw sessionRequired();
      c.set("user", verified.user);
      c.set("via", {
        kind: "token",
        tokenId: verified.tokenId,
        scope: verified.scope,
        expiresAt: verified.expiresAt,
      });
      return next();
    }
    const session = await verifySession(c.env, getCookie(c, SESSION_COOKIE));
    if (!session) {
      throw new ApiError(
        401,
        "unauthorized",
        "Sign in, or send Authorization: Bearer <api token>.",
      );
    }
    c.set("user", session.user);
    c.set("via", { kind: "session", sessionId: session.sessionId });
    return next();
  };
}
