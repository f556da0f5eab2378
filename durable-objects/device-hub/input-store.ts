import {
  type InputKind,
  type PendingInput,
  Question,
  TaskInputAnswer,
  type TaskInputRequest,
} from "@wegent/protocol";
import { z } from "zod";
import type { Row, Sql } from "./store";

/**
 * The agent's requests for the user's input (permissions, questions), in the DeviceHub's
 * SQLite: they outlive an executor reconnect, a page reload and a hub restart. A request is
 * `open` until the user answers it or it expires; the answer is kept (to re-send it after a
 * reconnect, and to refuse a second answer) until its message ends.
 */

export type InputState = "open" | "answered" | "expired";

export interface InputRow {
  requestId: string;
  messageId: string;
  taskId: string;
  ownerId: string;
  kind: InputKind;
  tool: string;
  input: unknown;
  questions: Question[] | undefined;
  title: string | undefined;
  createdAt: number;
  expiresAt: number;
  state: InputState;
  answer: TaskInputAnswer | null;
}

/** At most this many requests per message: a runaway executor cannot fill the hub. */
export const MAX_REQUESTS_PER_MESSAGE = 200;

const Payload = z.object({
  input: z.unknown(),
  questions: z.array(Question).optional(),
  title: z.string().optional(),
});

export class InputStore {
  constructor(private readonly sql: Sql) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS input_requests (
        request_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        tool TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        answer TEXT
      );
      CREATE INDEX IF NOT EXISTS input_requests_message ON input_requests (message_id);
    `);
  }

  private toRow(row: Row): InputRow {
    const payload = Payload.parse(JSON.parse(String(row.payload)));
    return {
      requestId: String(row.request_id),
      messageId: String(row.message_id),
      taskId: String(row.task_id),
      ownerId: String(row.owner_id),
      kind: String(row.kind) as InputKind,
      tool: String(row.tool),
      input: payload.input,
      questions: payload.questions,
      title: payload.title,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      state: String(row.state) as InputState,
      answer: row.answer === null ? null : TaskInputAnswer.parse(JSON.parse(String(row.answer))),
    };
  }

  get(requestId: string): InputRow | null {
    const row = this.sql
      .exec("SELECT * FROM input_requests WHERE request_id = ?", requestId)
      .toArray()[0];
    return row ? this.toRow(row) : null;
  }

  countFor(messageId: string): number {
    const row = this.sql
      .exec("SELECT COUNT(*) AS n FROM input_requests WHERE message_id = ?", messageId)
      .toArray()[0];
    return Number(row?.n ?? 0);
  }

  /** Keeps a new request (a re-sent one is already there and stays as it is). */
  add(frame: TaskInputRequest, ownerId: string, now: number, expiresAt: number): void {
    this.sql.exec(
      `INSERT OR IGNORE INTO input_requests
         (request_id, message_id, task_id, owner_id, kind, tool, payload, created_at, expires_at, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')`,
      frame.requestId,
      frame.messageId,
      frame.taskId,
      ownerId,
      frame.kind,
      frame.tool,
      JSON.stringify({ input: frame.input, questions: frame.questions, title: frame.title }),
      now,
      expiresAt,
    );
  }

  /** Records the answer; false when the request is no longer open (nothing changes then). */
  resolve(requestId: string, state: "answered" | "expired", answer: TaskInputAnswer): boolean {
    // One request at a time in a Durable Object: the check and the write cannot interleave.
    if (this.get(requestId)?.state !== "open") return false;
    this.sql.exec(
      "UPDATE input_requests SET state = ?, answer = ? WHERE request_id = ? AND state = 'open'",
      state,
      JSON.stringify(answer),
      requestId,
    );
    return true;
  }

  openFor(messageId: string): InputRow[] {
    return this.sql
      .exec(
        "SELECT * FROM input_requests WHERE message_id = ? AND state = 'open' ORDER BY created_at",
        messageId,
      )
      .toArray()
      .map((r) => this.toRow(r));
  }

  /** Answers not yet known to have reached the executor (re-sent after a registration). */
  answered(): InputRow[] {
    return this.sql
      .exec("SELECT * FROM input_requests WHERE state != 'open' ORDER BY created_at")
      .toArray()
      .map((r) => this.toRow(r));
  }

  /** Open requests past their expiry. */
  expired(now: number): InputRow[] {
    return this.sql
      .exec(
        "SELECT * FROM input_requests WHERE state = 'open' AND expires_at <= ? ORDER BY expires_at",
        now,
      )
      .toArray()
      .map((r) => this.toRow(r));
  }

  nextExpiry(): number | null {
    const row = this.sql
      .exec("SELECT MIN(expires_at) AS at FROM input_requests WHERE state = 'open'")
      .toArray()[0];
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  /** Forgets a message's requests (it ended); returns those that were still open. */
  removeFor(messageId: string): InputRow[] {
    const open = this.openFor(messageId);
    this.sql.exec("DELETE FROM input_requests WHERE message_id = ?", messageId);
    return open;
  }

  clearAll(): void {
    this.sql.exec("DELETE FROM input_requests");
  }
}

export function toPending(row: InputRow): PendingInput {
  return {
    requestId: row.requestId,
    messageId: row.messageId,
    kind: row.kind,
    tool: row.tool,
    input: row.input,
    ...(row.questions ? { questions: row.questions } : {}),
    ...(row.title ? { title: row.title } : {}),
    ...(row.kind === "plan" ? { plan: planOf(row.input) } : {}),
    createdAt: new Date(row.createdAt).toISOString(),
    expiresAt: new Date(row.expiresAt).toISOString(),
  };
}

/** ExitPlanMode's plan (its tool input's `plan`), bounded as the protocol carries it. */
function planOf(input: unknown): string {
  const plan = (input as { plan?: unknown } | null)?.plan;
  return typeof plan === "string" ? plan.slice(0, 256 * 1024) : "";
}
