import type { PushNotice, PushRetry } from "../edge/push/send";

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

export class PushRetries {
  constructor(private readonly db: SqlStorage) {
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
  }

  /** After a send (try `tries`, 0 the first): keeps what is worth another try. */
  keep(notice: PushNotice, retries: PushRetry[], tries: number, since: number, now: number): void {
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

  /** A newer push for the task went out: older ones waiting for it are dropped. */
  dropTask(taskId: string): void {
    this.db.exec("DELETE FROM push_retries WHERE task_id = ?", taskId);
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
