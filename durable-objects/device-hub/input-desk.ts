import type {
  AnswerBlock,
  HubFrame,
  InputOutcome,
  LiveEvent,
  PendingInput,
  TaskInputRequest,
  TaskStatus,
} from "@wegent/protocol";
import { log } from "../../edge/log";
import { answerBlock } from "./answer-record";
import { type AnswerCheck, type AnswerTarget, checkAnswer, expiredAnswer } from "./input-answers";
import { InputStore, MAX_REQUESTS_PER_MESSAGE, type InputRow, toPending } from "./input-store";
import type { ExecutorLink } from "./slot-types";
import type { Sql, Work } from "./store";

/** What the desk needs from the hub: the socket, the work, D1's status, the live channel. */
export interface DeskEffects {
  executor(): ExecutorLink | null;
  work(messageId: string): Work | null;
  setMessageStatus(w: Work, status: TaskStatus): Promise<void>;
  push(userId: string, event: LiveEvent): void;
  timeoutMs(): number;
  /** Keeps the answer in the reply's transcript, where the reply is now. */
  recordAnswer(messageId: string, block: AnswerBlock): void;
}

/**
 * The agent's requests for the user's input on this device: kept in SQLite while open, answered
 * by the user (from any tab) or denied when they expire, delivered to the executor now or after
 * its reconnect. While a message has an open request its status is `waiting_input`; its slot
 * stays held (the work is still running).
 */
export class InputDesk {
  private readonly store: InputStore;

  constructor(
    sql: Sql,
    private readonly effects: DeskEffects,
  ) {
    this.store = new InputStore(sql);
  }

  /** task:input-request from the executor. Returns frames to answer with. */
  async request(frame: TaskInputRequest, now = Date.now()): Promise<HubFrame[]> {
    const w = this.effects.work(frame.messageId);
    if (!w || w.taskId !== frame.taskId || w.state === "queued") {
      return [
        {
          type: "error",
          code: "unknown_task",
          message: `Message ${frame.messageId} is not running on this device.`,
        },
      ];
    }
    const known = this.store.get(frame.requestId);
    if (known) {
      if (known.messageId !== frame.messageId) {
        return [{ type: "error", code: "bad_request_id", message: "requestId already used." }];
      }
      // A re-send after a reconnect: answer again if we already have the answer.
      return known.answer ? [known.answer] : [];
    }
    const deny = (message: string): HubFrame[] => [
      {
        type: "task:input-answer",
        taskId: frame.taskId,
        messageId: frame.messageId,
        requestId: frame.requestId,
        behavior: "deny",
        message,
      },
    ];
    if (w.state === "cancelling") return deny("The task is being stopped.");
    if (this.store.countFor(frame.messageId) >= MAX_REQUESTS_PER_MESSAGE) {
      return deny(`Too many requests in one message (at most ${MAX_REQUESTS_PER_MESSAGE}).`);
    }
    const hadOpen = this.store.openFor(frame.messageId).length > 0;
    this.store.add(frame, w.ownerId, now, now + this.effects.timeoutMs());
    const row = this.store.get(frame.requestId);
    if (!row) return [];
    log({
      event: "task.input_requested",
      taskId: w.taskId,
      messageId: w.messageId,
      kind: row.kind,
      tool: row.tool,
    });
    this.effects.push(w.ownerId, {
      type: "input:request",
      taskId: w.taskId,
      messageId: w.messageId,
      request: toPending(row),
    });
    if (!hadOpen) await this.setStatus(w, "waiting_input");
    return [];
  }

  /** The user's answer from the API. Changes nothing unless it is accepted. */
  async answer(target: AnswerTarget): Promise<AnswerCheck> {
    const row = this.store.get(target.requestId);
    const check = checkAnswer(row, target);
    if (!check.ok || !row) return check;
    const by = target.answeredBy ?? null;
    const record = answerBlock(row, check.outcome, target.answer, by, Date.now());
    await this.resolve(row, "answered", check.frame, check.outcome, record);
    return check;
  }

  /** Denies every open request past its expiry. */
  async expire(now = Date.now()): Promise<void> {
    for (const row of this.store.expired(now)) {
      await this.resolve(
        row,
        "expired",
        expiredAnswer(row, row.expiresAt - row.createdAt),
        "expired",
        answerBlock(row, "expired", null, null, now),
      );
    }
  }

  nextExpiry(): number | null {
    return this.store.nextExpiry();
  }

  private async resolve(
    row: InputRow,
    state: "answered" | "expired",
    frame: Extract<HubFrame, { type: "task:input-answer" }>,
    outcome: InputOutcome,
    record: AnswerBlock,
  ): Promise<void> {
    if (!this.store.resolve(row.requestId, state, frame)) return;
    this.effects.recordAnswer(row.messageId, record);
    // Sent now if the executor is here; otherwise after its next registration (`resend`).
    this.effects.executor()?.send(frame);
    log({ event: "task.input_resolved", taskId: row.taskId, messageId: row.messageId, outcome });
    this.effects.push(row.ownerId, {
      type: "input:resolved",
      taskId: row.taskId,
      messageId: row.messageId,
      requestId: row.requestId,
      outcome,
      answer: record,
    });
    const w = this.effects.work(row.messageId);
    if (w && this.store.openFor(row.messageId).length === 0 && w.state !== "cancelling") {
      await this.setStatus(w, "running");
    }
  }

  /** After a registration: every answer the executor may have missed (it ignores repeats). */
  resend(executor: ExecutorLink): void {
    for (const row of this.store.answered()) if (row.answer) executor.send(row.answer);
  }

  /** Open requests of a message (for GET /api/tasks/:id). */
  pending(messageId: string): PendingInput[] {
    return this.store.openFor(messageId).map(toPending);
  }

  /** The message ended: its open requests close with it. */
  ended(w: Work): void {
    for (const row of this.store.removeFor(w.messageId)) {
      this.effects.push(row.ownerId, {
        type: "input:resolved",
        taskId: row.taskId,
        messageId: row.messageId,
        requestId: row.requestId,
        outcome: "ended",
      });
    }
  }

  clear(): void {
    this.store.clearAll();
  }

  private async setStatus(w: Work, status: "running" | "waiting_input"): Promise<void> {
    await this.effects.setMessageStatus(w, status);
    this.effects.push(w.ownerId, {
      type: "task:status",
      taskId: w.taskId,
      messageId: w.messageId,
      status,
      queuePosition: null,
      errorCode: null,
      errorMessage: null,
    });
  }
}
