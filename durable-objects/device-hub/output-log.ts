import { AnswerBlock, type SequencedEvent } from "@wegent/protocol";
import type { Sql } from "./store";

/** Runs `fn` as one SQLite transaction (the Durable Object's `transactionSync`). */
export type Transaction = <T>(fn: () => T) => T;

/**
 * The sequence-numbered output of the messages running on the device, in the hub's SQLite.
 * A frame's events are one row (`output_batches`, keyed by its first seq, WITHOUT ROWID): rows
 * written — what SQLite storage is billed by — grow with frames, not with events. Only events
 * are written (the reply text is assembled on demand), so a frame costs the same at the end of
 * a long reply as at its start. A message's output goes when its work ends. The older
 * one-row-per-event table (`output`, from hubs that ran before batching, never written since)
 * is dropped.
 */
export class OutputLog {
  constructor(
    private readonly sql: Sql,
    /** One transaction for a batch (on Node, the tests run it as it is). */
    readonly transaction: Transaction = (fn) => fn(),
  ) {
    sql.exec(`
      DROP TABLE IF EXISTS output;
      CREATE TABLE IF NOT EXISTS output_batches (
        message_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        events TEXT NOT NULL,
        PRIMARY KEY (message_id, first_seq)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS output_answers (
        request_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        after_seq INTEGER NOT NULL,
        block TEXT NOT NULL
      );
    `);
  }

  /** Stores a frame's new events (consecutive seqs) as one row. */
  appendMany(messageId: string, events: readonly SequencedEvent[]): void {
    if (events.length === 0) return;
    this.sql.exec(
      "INSERT OR IGNORE INTO output_batches (message_id, first_seq, events) VALUES (?, ?, ?)",
      messageId,
      events[0]!.seq,
      JSON.stringify(events),
    );
  }

  /** The reply so far: the text deltas of the stored output, in order. */
  replyText(messageId: string): string {
    let text = "";
    for (const { event } of this.after(messageId, 0))
      if (event.kind === "text") text += event.delta;
    return text;
  }

  after(messageId: string, afterSeq: number): SequencedEvent[] {
    return this.sql
      .exec("SELECT events FROM output_batches WHERE message_id = ? ORDER BY first_seq", messageId)
      .toArray()
      .flatMap((r) => JSON.parse(String(r.events)) as SequencedEvent[])
      .filter((e) => e.seq > afterSeq);
  }

  /** Records a person's answer (or an expiry) at its place: after the output seen so far. */
  recordAnswer(messageId: string, afterSeq: number, block: AnswerBlock): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO output_answers (request_id, message_id, after_seq, block) VALUES (?, ?, ?, ?)",
      block.requestId,
      messageId,
      afterSeq,
      JSON.stringify(block),
    );
  }

  /** A message's recorded answers, in the order they came. */
  answers(messageId: string): { afterSeq: number; block: AnswerBlock }[] {
    return this.sql
      .exec(
        "SELECT after_seq, block FROM output_answers WHERE message_id = ? ORDER BY after_seq, rowid",
        messageId,
      )
      .toArray()
      .map((r) => ({
        afterSeq: Number(r.after_seq),
        block: AnswerBlock.parse(JSON.parse(String(r.block))),
      }));
  }

  remove(messageId: string): void {
    this.sql.exec("DELETE FROM output_batches WHERE message_id = ?", messageId);
    this.sql.exec("DELETE FROM output_answers WHERE message_id = ?", messageId);
  }

  clear(): void {
    this.sql.exec("DELETE FROM output_batches");
    this.sql.exec("DELETE FROM output_answers");
  }
}
