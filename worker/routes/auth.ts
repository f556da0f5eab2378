import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { eq, sql } from "drizzle-orm";
import { Credentials, type User, type UserBody } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { hashPassword, needsRehash, signJwt, verifyPassword } from "../auth/crypto";
import {
  type AppContext,
  type AppEnv,
  type AuthUser,
  requireUser,
  SESSION_COOKIE,
  verifySession,
} from "../auth/identity";
import { clearCounter, clientAddress, countAttempts, refundAttempt } from "../auth/throttle";
import { ApiError } from "../lib/errors";
import { userHub } from "../../durable-objects/contract";
import { log } from "../../edge/log";
import { DAY_MS, isoIn, nowIso } from "../../edge/time";
import { readBody } from "../lib/validate";
import { liveTag } from "./live";

const SESSION_DAYS = 30;

// Compared against when the username is unknown, so a miss costs as much as a wrong password
// and response time does not reveal which usernames exist (argon2id, the current parameters).
const DECOY_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// Sign-in attempts are counted BEFORE the password is checked, per account and client (so a
// stranger elsewhere cannot lock the owner out) and per client across accounts (no spraying).
const WINDOW_MS = 15 * 60_000;
const PER_ACCOUNT_AND_CLIENT = 5;
const PER_CLIENT = 30;

// Sign-ups are counted per client BEFORE the password is hashed or the name looked up: one
// address gets at most 5 answers (an account, or "not available") per 15 minutes, so a burst
// can neither burn argon2id time nor probe which usernames exist. Trade-off: a username is
// chosen by its owner, who must learn that a name is unavailable; that answer costs what a
// success costs (the hash is always computed first) and says nothing more than "not available".
const SIGNUP_WINDOW_MS = 15 * 60_000;
const SIGNUPS_PER_CLIENT = 5;

export const authRoutes = new Hono<AppEnv>();

async function startSession(c: AppContext, userId: string) {
  const sessionId = crypto.randomUUID();
  const expiresAt = isoIn(SESSION_DAYS * DAY_MS);
  await database(c.env.DB)
    .insert(schema.sessions)
    .values({ id: sessionId, userId, expiresAt })
    .run();
  const iat = Math.floor(Date.now() / 1000);
  const jwt = await signJwt(
    { typ: "session", sub: userId, sid: sessionId, iat, exp: iat + SESSION_DAYS * 86_400 },
    c.env.JWT_SECRET,
  );
  setCookie(c, SESSION_COOKIE, jwt, {
    httpOnly: true,
    sameSite: "Lax",
    secure: new URL(c.req.url).protocol === "https:",
    path: "/",
    maxAge: SESSION_DAYS * 86_400,
  });
}

function toUser(row: { id: string; username: string; isAdmin: boolean; createdAt: string }): User {
  return { id: row.id, username: row.username, isAdmin: row.isAdmin, createdAt: row.createdAt };
}

authRoutes.post("/signup", async (c) => {
  const { username, password } = await readBody(c, Credentials);
  const [counted] = await countAttempts(c.env.DB, [
    {
      key: `signup:client:${clientAddress(c)}`,
      limit: SIGNUPS_PER_CLIENT,
      windowMs: SIGNUP_WINDOW_MS,
    },
  ]);
  if (counted && counted.retryAfter > 0) {
    log({ event: "signup.refused", code: "too_many_attempts" }, "warn");
    throw new ApiError(
      429,
      "too_many_attempts",
      `Too many sign-ups from your network. Try again in ${counted.retryAfter} s.`,
      { "Retry-After": String(counted.retryAfter) },
    );
  }
  const db = database(c.env.DB);
  const id = crypto.randomUUID();
  const passwordHash = await hashPassword(password);
  try {
    // The first account is the admin; deciding it inside the INSERT keeps two racing first
    // sign-ups from both becoming admin.
    await c.env.DB.prepare(
      `INSERT INTO users (id, username, password_hash, is_admin)
       VALUES (?1, ?2, ?3, (SELECT COUNT(*) = 0 FROM users))`,
    )
      .bind(id, username, passwordHash)
      .run();
  } catch (error) {
    if (String(error).includes("UNIQUE")) {
      log({ event: "signup.refused", code: "username_taken" }, "warn");
      throw new ApiError(409, "username_taken", "This username is not available: choose another.");
    }
    throw error;
  }
  const user = await db.select().from(schema.users).where(eq(schema.users.id, id)).get();
  if (!user) throw new Error("user vanished after insert");
  log({ event: "auth.signup", userId: id, isAdmin: user.isAdmin });
  await startSession(c, id);
  return c.json({ user: toUser(user) } satisfies UserBody, 201);
});

authRoutes.post("/login", async (c) => {
  const { username, password } = await readBody(c, Credentials);
  const db = database(c.env.DB);
  const client = clientAddress(c);
  const accountKey = `login:acct:${username.toLowerCase()}:${client}`;
  const clientKey = `login:client:${client}`;
  // Counted before the password is checked (parallel guesses cannot pass the limits); a
  // success gives its per-address count back below, so that limit counts failures only.
  const [account, perClient] = await countAttempts(c.env.DB, [
    { key: accountKey, limit: PER_ACCOUNT_AND_CLIENT, windowMs: WINDOW_MS },
    { key: clientKey, limit: PER_CLIENT, windowMs: WINDOW_MS },
  ]);
  const over = [account, perClient].find((x) => x && x.retryAfter > 0);
  if (over) {
    const scope = over === account ? "account" : "client";
    log({ event: "auth.login_limited", username, scope, retryAfter: over.retryAfter }, "warn");
    throw new ApiError(
      429,
      "too_many_attempts",
      scope === "account"
        ? `Too many sign-ins for this account from your network. Try again in ${over.retryAfter} s.`
        : `Too many sign-ins from your network. Try again in ${over.retryAfter} s.`,
      { "Retry-After": String(over.retryAfter) },
    );
  }
  const user = await db
    .select()
    .from(schema.users)
    .where(sql`lower(${schema.users.username}) = lower(${username})`)
    .get();
  const ok = await verifyPassword(password, user?.passwordHash ?? DECOY_HASH);
  if (!user || !ok) {
    log({ event: "auth.login_failed", username, attempts: account?.count ?? 0 }, "warn");
    throw new ApiError(401, "invalid_credentials", "Wrong username or password.");
  }
  await clearCounter(c.env.DB, accountKey);
  if (perClient) await refundAttempt(c.env.DB, clientKey, perClient.windowStartedAt);
  if (needsRehash(user.passwordHash)) {
    await db
      .update(schema.users)
      .set({ passwordHash: await hashPassword(password) })
      .where(eq(schema.users.id, user.id))
      .run();
    log({ event: "auth.password_upgraded", userId: user.id });
  }
  await startSession(c, user.id);
  log({ event: "auth.login", userId: user.id });
  return c.json({ user: toUser(user) } satisfies UserBody);
});

authRoutes.post("/logout", async (c) => {
  const session = await verifySession(c.env, getCookie(c, SESSION_COOKIE));
  if (session) {
    await database(c.env.DB)
      .update(schema.sessions)
      .set({ revokedAt: nowIso() })
      .where(eq(schema.sessions.id, session.sessionId))
      .run();
    // Close the live sockets this session opened.
    await userHub(c.env, session.user.id).closeSession(
      liveTag({ kind: "session", sessionId: session.sessionId }),
    );
    log({ event: "auth.logout", userId: session.user.id });
  }
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
  return c.json({ ok: true });
});

authRoutes.get("/me", requireUser(), async (c) => {
  const me: AuthUser = c.get("user");
  const row = await database(c.env.DB)
    .select()
    .from(schema.users)
    .where(eq(schema.users.id, me.id))
    .get();
  if (!row) throw new ApiError(401, "unauthorized", "This account no longer exists.");
  return c.json({ user: toUser(row) } satisfies UserBody);
});
