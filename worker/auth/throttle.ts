import { and, eq, gt, sql } from "drizzle-orm";
import type { Context } from "hono";
import { database, schema } from "../../edge/db";
import { ApiError } from "../lib/errors";

// Fixed-window counters in D1, each bumped by ONE statement (`INSERT … ON CONFLICT DO UPDATE …
// RETURNING`) before the guarded work runs: D1 runs statements one at a time, so 40 parallel
// requests get the counts 1…40 and only the first `limit` go on. (Cloudflare's rate-limiting
// binding is per location and eventually consistent, with 10 s or 60 s periods only: it cannot
// promise "at most 5 passwords checked", so it is not used here.)

export interface Limit {
  /** Counter key, e.g. `login:acct:<name>:<client>`. */
  key: string;
  /** Attempts allowed per window. */
  limit: number;
  windowMs: number;
}

export interface Counted {
  count: number;
  /** When the counted window began (to give the attempt back in the same window). */
  windowStartedAt: number;
  /** Seconds until the window ends (when over the limit), else 0. */
  retryAfter: number;
}

function statement(db: D1Database, limit: Limit, now: number): D1PreparedStatement {
  // Raw on purpose: one upsert with CASE + RETURNING whose count is the answer (see above).
  return db
    .prepare(
      `INSERT INTO login_throttle (key, failures, window_started_at) VALUES (?1, 1, ?2)
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN window_started_at <= ?2 - ?3 THEN 1 ELSE failures + 1 END,
         window_started_at = CASE WHEN window_started_at <= ?2 - ?3 THEN ?2 ELSE window_started_at END
       RETURNING failures, window_started_at`,
    )
    .bind(limit.key, now, limit.windowMs);
}

/** Counts one attempt against each limit (one batch); returns the counts in order. */
export async function countAttempts(db: D1Database, limits: Limit[]): Promise<Counted[]> {
  const now = Date.now();
  const results = await db.batch<{ failures: number; window_started_at: number }>(
    limits.map((l) => statement(db, l, now)),
  );
  return results.map((result, i) => {
    const row = result.results[0];
    const limit = limits[i]!;
    const count = row?.failures ?? 1;
    const end = (row?.window_started_at ?? now) + limit.windowMs;
    return {
      count,
      windowStartedAt: row?.window_started_at ?? now,
      retryAfter: count > limit.limit ? Math.max(1, Math.ceil((end - now) / 1000)) : 0,
    };
  });
}

/** Counts one attempt and throws 429 `rate_limited` when over. */
export async function rateLimit(db: D1Database, limit: Limit, what: string): Promise<void> {
  const [counted] = await countAttempts(db, [limit]);
  if (counted && counted.retryAfter > 0) {
    throw new ApiError(
      429,
      "rate_limited",
      `Too many ${what}. Try again in ${counted.retryAfter} s.`,
      { "Retry-After": String(counted.retryAfter) },
    );
  }
}

/**
 * Gives one counted attempt back (a sign-in that succeeded), if its window is still the one
 * counted: the per-address count then holds only failures and attempts still in flight.
 */
export async function refundAttempt(
  db: D1Database,
  key: string,
  windowStartedAt: number,
): Promise<void> {
  const t = schema.loginThrottle;
  await database(db)
    .update(t)
    .set({ failures: sql`${t.failures} - 1` })
    .where(and(eq(t.key, key), eq(t.windowStartedAt, windowStartedAt), gt(t.failures, 0)))
    .run();
}

export async function clearCounter(db: D1Database, key: string): Promise<void> {
  await database(db).delete(schema.loginThrottle).where(eq(schema.loginThrottle.key, key)).run();
}

/** The client's address as Cloudflare saw it (the header cannot be set by the client there). */
export function clientAddress(c: Context): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}
