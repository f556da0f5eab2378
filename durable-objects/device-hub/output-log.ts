import type { ProgressEvent, SequencedEvent } from "@wegent/protocol";
import type { Sql } from "./store";

/** Runs `fn` as one SQLite transaction (the Durable Object's `transactionSync`). */
export type Transaction = <T>(fn: () => T) => T;

/** Rows per INSERT: three bound values each, and a statement takes at most 100. */
const ROWS_PER_INSERT = 33;

/**
 * The sequence-numbered output of the messages running on the device, in the hub's SQLite.
 * Only events are written (the reply text is assembled on demand), so a frame costs the same at
 * the end of a long reply as at its start. A message's output goes when its work ends.
 */
export class OutputLog {
  constructor(
    private readonly sql: Sql,
    /** One transaction for a batch (on Node, the tests run it as it is). */
    readonly transaction: Transaction = (fn) => fn(),
  ) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS output (
        message_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (message_id, seq)
      );
    `);
  }

  /** Stores several events (a batch), in multi-row INSERTs; the caller holds the transaction. */
  appendMany(messageId: string, events: readonly SequencedEvent[]): void {
    for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
      const chunk = events.slice(i, i + ROWS_PER_INSERT);
      const values: (string | number)[] = [];
      for (const e of chunk) values.push(messageId, e.seq, JSON.stringify(e.event));
      this.sql.exec(
        `INSERT OR IGNORE INTO output (message_id, seq, event) VALUES ${chunk.map(() => "(?, ?, ?)").join(", ")}`,
        ...values,
      );
    }
  }

  /** The reply so far: the text deltas of the stored output, in order. */
  replyText(messageId: string): string {
    let text = "";
    for (const { event } of this.after(messageId, 0))
      if (event.kind === "text") text += event.delta;
    return text;
  }

  after(messageId: string, afterSeq: number): { seq: number; event: ProgressEvent }[] {
    return this.sql
      .exec(
        "SELECT seq, event FROM output WHERE message_id = ? AND seq > ? ORDER BY seq",
        messageId,
        afterSeq,
      )
      .toArray()
      .map((r) => ({ seq: Number(r.seq), event: JSON.parse(String(r.event)) as ProgressEvent }));
  }

  remove(messageId: string): void {
    this.sql.exec("DELETE FROM output WHERE message_id = ?", messageId);
  }

  clear(): void {
    this.sql.exec("DELETE FROM output");
  }
}
