import type { Sql } from "./store";

// A D1 write that was written behind and failed all its tries is not given up: it is kept
// here, in the hub's SQLite (so hibernation or eviction loses nothing), and tried again by the
// hub's one alarm (the deadline table's `d1_retry` row) until D1 takes it. Until then the task
// list (read from D1) would show a status the task left long ago.

/** First retry a second after the give-up, then doubling, at most a minute apart. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

export type PendingWrite =
  | { kind: "message_status"; taskId: string; messageId: string; status: string }
  | { kind: "device_status" };

export interface Pending {
  key: string;
  write: PendingWrite;
  failures: number;
  nextAt: number;
}

/** One kept write per message (its latest status) and one for the device's figures. */
export function pendingKey(write: PendingWrite): string {
  return write.kind === "message_status" ? `message:${write.messageId}` : "device";
}

const backoff = (failures: number) =>
  Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));

export class PendingWrites {
  constructor(private readonly sql: Sql) {
    sql.exec(`CREATE TABLE IF NOT EXISTS pending_d1 (
      key TEXT PRIMARY KEY,
      write TEXT NOT NULL,
      failures INTEGER NOT NULL,
      next_at INTEGER NOT NULL
    )`);
  }

  /** A write gave up: keep it (replacing an older one of the same key), retry in a second. */
  keep(write: PendingWrite, now = Date.now()): void {
    this.sql.exec(
      `INSERT INTO pending_d1 (key, write, failures, next_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET write = excluded.write, failures = failures + 1,
         next_at = excluded.next_at`,
      pendingKey(write),
      JSON.stringify(write),
      now + FIRST_RETRY_MS,
    );
  }

  /** D1 took this write (or a later one of the same key): nothing left to retry. */
  drop(key: string): void {
    this.sql.exec("DELETE FROM pending_d1 WHERE key = ?", key);
  }

  /** Tried again and failed again: the next try waits longer. */
  failed(key: string, now = Date.now()): void {
    const row = this.sql.exec("SELECT failures FROM pending_d1 WHERE key = ?", key).toArray()[0];
    const failures = Number(row?.failures ?? 0) + 1;
    this.sql.exec(
      "UPDATE pending_d1 SET failures = ?, next_at = ? WHERE key = ?",
      failures,
      now + backoff(failures),
      key,
    );
  }

  /** The writes due at `now`, oldest first. */
  due(now = Date.now()): Pending[] {
    return this.sql
      .exec("SELECT * FROM pending_d1 WHERE next_at <= ? ORDER BY rowid", now)
      .toArray()
      .map((row) => ({
        key: String(row.key),
        write: JSON.parse(String(row.write)) as PendingWrite,
        failures: Number(row.failures),
        nextAt: Number(row.next_at),
      }));
  }

  /** When the alarm should retry (null: nothing kept). */
  nextAt(): number | null {
    const row = this.sql.exec("SELECT MIN(next_at) AS at FROM pending_d1").toArray()[0];
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  count(): number {
    return Number(this.sql.exec("SELECT COUNT(*) AS n FROM pending_d1").toArray()[0]?.n ?? 0);
  }

  clear(): void {
    this.sql.exec("DELETE FROM pending_d1");
  }
}
