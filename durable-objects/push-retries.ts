import type { PushNotice, PushRetry } from "../edge/push/notice";

// The pushes a service did not take yet (429, 5xx, unreachable), kept in the UserHub's SQLite
// and tried again by its alarm: a question must reach the phone even when FCM says "later".
// Bounded: a few tries per (event, browser), backing off, and never once a newer push for the
// same task went out (it replaces this one on the phone anyway) or the event is a day old.

/** Tries after the first send. */
export const PUSH_RETRY_TRIES = 4;
const FIRST_WAIT_MS = 30_000;
const LONGEST_WAIT_MS = 10 * 60_000;
/** Like the push's TTL: news older than this is not news. */
const GIVE_UP_AFTER_MS = 24 * 60 * 60_000;

/**
 * When try `tries + 1` of a push first sent at `since` is due, or null when it is not worth
 * one: out of tries, or later than a day after the event.
 */
export function retryDue(
  retry: PushRetry,
  tries: number,
  since: number,
  now: number,
): number | null {
  if (tries + 1 > PUSH_RETRY_TRIES) return null;
  // The service's Retry-After as it said (RFC 8030 §8.4); else backing off.
  const due = retry.at ?? now + Math.min(FIRST_WAIT_MS * 2 ** tries, LONGEST_WAIT_MS);
  return due - since > GIVE_UP_AFTER_MS ? null : due;
}

export interface DuePush {
  notice: PushNotice;
  subscriptionIds: string[];
  tries: number;
  since: number;
}

/** The Durable Object's SQLite, as far as this uses it (Node's SQLite in the tests). */
export interface RetrySql {
  exec(
    query: string,
    ...bindings: (string | number | null)[]
  ): { toArray(): Record<string, unknown>[] };
}

export class PushRetries {
  constructor(private readonly db: RetrySql) {
    db.exec(`CREATE TABLE IF NOT EXISTS push_retries (
      event_key TEXT NOT NULL,
      subscription_id TEXT NOT NULL,
      task_id TEXT NOT NULL,
      notice TEXT NOT NULL,
      due INTEGER NOT NULL,
      tries INTEGER NOT NULL,
      since INTEGER NOT NULL,
      PRIMARY KEY (event_key, subscription_id)
    )`);
    // When each task's newest push went out: a retry of older news never follows it (a send
    // still in flight when newer news came would otherwise come back and replace it).
    db.exec(
      "CREATE TABLE IF NOT EXISTS push_newest (task_id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    );
  }

  /** A push for the task goes out now (`at`): older ones waiting for a retry are dropped. */
  newest(taskId: string, at: number): void {
    this.db.exec(
      "INSERT INTO push_newest (task_id, at) VALUES (?, ?) ON CONFLICT (task_id) DO UPDATE SET at = MAX(at, excluded.at)",
      taskId,
      at,
    );
    this.db.exec("DELETE FROM push_retries WHERE task_id = ? AND since < ?", taskId, at);
    this.db.exec("DELETE FROM push_newest WHERE at < ?", at - GIVE_UP_AFTER_MS);
  }

  private newerThan(taskId: string, since: number): boolean {
    const row = this.db.exec("SELECT at FROM push_newest WHERE task_id = ?", taskId).toArray()[0];
    return row !== undefined && Number(row.at) > since;
  }

  /** After a send (try `tries`, 0 the first): keeps what is worth another try. */
  keep(notice: PushNotice, retries: PushRetry[], tries: number, since: number, now: number): void {
    if (this.newerThan(notice.taskId, since)) return;
    for (const retry of retries) {
      const due = retryDue(retry, tries, since, now);
      if (due === null) continue;
      this.db.exec(
        `INSERT INTO push_retries (event_key, subscription_id, task_id, notice, due, tries, since)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (event_key, subscription_id) DO UPDATE SET due = excluded.due, tries = excluded.tries`,
        notice.eventKey,
        retry.subscriptionId,
        notice.taskId,
        JSON.stringify(notice),
        due,
        tries + 1,
        since,
      );
    }
  }

  /** Takes the retries due by `now`, one entry per event. */
  takeDue(now: number): DuePush[] {
    const rows = this.db
      .exec(
        "SELECT event_key, subscription_id, notice, tries, since FROM push_retries WHERE due <= ? ORDER BY due",
        now,
      )
      .toArray();
    this.db.exec("DELETE FROM push_retries WHERE due <= ?", now);
    const byEvent = new Map<string, DuePush>();
    for (const row of rows) {
      const key = String(row.event_key);
      const entry = byEvent.get(key);
      if (entry) {
        entry.subscriptionIds.push(String(row.subscription_id));
        entry.tries = Math.max(entry.tries, Number(row.tries));
        continue;
      }
      byEvent.set(key, {
        notice: JSON.parse(String(row.notice)) as PushNotice,
        subscriptionIds: [String(row.subscription_id)],
        tries: Number(row.tries),
        since: Number(row.since),
      });
    }
    return [...byEvent.values()];
  }

  /** When the next retry is due (epoch ms), or null. */
  nextDue(): number | null {
    const row = this.db.exec("SELECT MIN(due) AS due FROM push_retries").toArray()[0];
    return row?.due == null ? null : Number(row.due);
  }
}
