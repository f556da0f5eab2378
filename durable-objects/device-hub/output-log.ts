import type { ProgressEvent } from "@wegent/protocol";
import type { Sql } from "./store";

/**
 * The sequence-numbered output of the messages running on the device, in the hub's SQLite.
 * Only events are written (the reply text is assembled on demand), so a frame costs the same at
 * the end of a long reply as at its start. A message's output goes when its work ends.
 */
export class OutputLog {
  constructor(private readonly sql: Sql) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS output (
        message_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (message_id, seq)
      );
    `);
  }

  append(messageId: string, seq: number, event: ProgressEvent): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO output (message_id, seq, event) VALUES (?, ?, ?)",
      messageId,
      seq,
      JSON.stringify(event),
    );
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
