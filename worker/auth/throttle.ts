import { eq } from "drizzle-orm";
import type { Database } from "../../edge/db";
import { schema } from "../../edge/db";

// Failed sign-ins per username: the first few are free, then each further failure locks the
// name for twice as long as the last (30 s up to 15 min). A success clears the record.
const FREE_FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const FIRST_LOCK_MS = 30_000;
const MAX_LOCK_MS = 15 * 60_000;

const keyOf = (username: string) => `login:${username.toLowerCase()}`;

/** Seconds until the name may try again, or 0. */
export async function lockedForSeconds(db: Database, username: string): Promise<number> {
  const row = await db
    .select()
    .from(schema.loginThrottle)
    .where(eq(schema.loginThrottle.key, keyOf(username)))
    .get();
  if (!row?.lockedUntil) return 0;
  return Math.max(0, Math.ceil((row.lockedUntil - Date.now()) / 1000));
}

/** Records a failure; returns the failure count and the lock it caused (seconds). */
export async function recordFailure(
  db: Database,
  username: string,
): Promise<{ failures: number; lockedForSeconds: number }> {
  const key = keyOf(username);
  const now = Date.now();
  const row = await db
    .select()
    .from(schema.loginThrottle)
    .where(eq(schema.loginThrottle.key, key))
    .get();
  const fresh = !row || now - row.windowStartedAt > WINDOW_MS;
  const failures = fresh ? 1 : row.failures + 1;
  const over = failures - FREE_FAILURES;
  const lockMs = over > 0 ? Math.min(MAX_LOCK_MS, FIRST_LOCK_MS * 2 ** (over - 1)) : 0;
  const values = {
    key,
    failures,
    windowStartedAt: fresh ? now : row.windowStartedAt,
    lockedUntil: lockMs > 0 ? now + lockMs : null,
  };
  await db
    .insert(schema.loginThrottle)
    .values(values)
    .onConflictDoUpdate({ target: schema.loginThrottle.key, set: values })
    .run();
  return { failures, lockedForSeconds: Math.ceil(lockMs / 1000) };
}

export async function clearFailures(db: Database, username: string): Promise<void> {
  await db
    .delete(schema.loginThrottle)
    .where(eq(schema.loginThrottle.key, keyOf(username)))
    .run();
}
