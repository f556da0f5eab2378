import type { TaskComplete, TaskFailed, TaskProgress } from "@wegent/protocol";

/** The frames that carry a message's output; each one is kept until the hub acknowledges it. */
export type OutputFrame = TaskProgress | TaskComplete | TaskFailed;
/** An output frame before the outbox gives it its sequence number. */
export type UnsequencedFrame =
  Omit<TaskProgress, "seq"> | Omit<TaskComplete, "seq"> | Omit<TaskFailed, "seq">;

interface MessageOutput {
  taskId: string;
  messageId: string;
  nextSeq: number;
  /** Sent or not, in seq order, not yet acknowledged. */
  unacked: OutputFrame[];
  /** The terminal frame has been written; the entry goes once it is acknowledged. */
  ended: boolean;
}

export interface ResumePoint {
  taskId: string;
  messageId: string;
  lastSeq: number;
}

/**
 * The executor's no-loss promise: every output frame gets the next per-message sequence number
 * and stays here until the hub acknowledges it (acks are cumulative). Frames are sent at once
 * while the device is registered; otherwise they wait, and `resume` re-sends exactly what the
 * hub has not stored, in order, after the next registration.
 */
export class Outbox {
  private readonly messages = new Map<string, MessageOutput>();

  constructor(
    /** Sends a frame now if the device is registered; false when it cannot. */
    private readonly trySend: (frame: OutputFrame) => boolean,
  ) {}

  /** Starts the output of a message; its first frame will be seq 1. */
  open(taskId: string, messageId: string): void {
    if (this.messages.has(messageId)) return;
    this.messages.set(messageId, { taskId, messageId, nextSeq: 1, unacked: [], ended: false });
  }

  has(messageId: string): boolean {
    return this.messages.has(messageId);
  }

  /**
   * Numbers, keeps and (if possible) sends a frame. Returns null when the message is unknown —
   * the hub dropped it (see `resume`), so its late output must go nowhere.
   */
  push(frame: UnsequencedFrame): OutputFrame | null {
    const message = this.messages.get(frame.messageId);
    if (!message || message.ended) return null;
    const sequenced = { ...frame, seq: message.nextSeq } as OutputFrame;
    message.nextSeq += 1;
    if (sequenced.type !== "task:progress") message.ended = true;
    message.unacked.push(sequenced);
    this.trySend(sequenced);
    return sequenced;
  }

  /** The hub stored every frame of this message up to and including `seq`. */
  ack(messageId: string, seq: number): void {
    const message = this.messages.get(messageId);
    if (!message) return;
    message.unacked = message.unacked.filter((frame) => frame.seq > seq);
    if (message.ended && message.unacked.length === 0) this.messages.delete(messageId);
  }

  /**
   * After a registration: re-sends what the hub has not stored, in order. Messages the hub no
   * longer lists are finished on its side (it failed them after the grace), so their frames are
   * dropped; their ids are returned so the caller can stop any run still going.
   */
  resume(points: readonly ResumePoint[]): string[] {
    const lastSeqs = new Map(points.map((point) => [point.messageId, point.lastSeq]));
    const dropped: string[] = [];
    for (const message of [...this.messages.values()]) {
      const lastSeq = lastSeqs.get(message.messageId);
      if (lastSeq === undefined) {
        this.messages.delete(message.messageId);
        dropped.push(message.messageId);
        continue;
      }
      this.ack(message.messageId, lastSeq);
      for (const frame of message.unacked) {
        if (!this.trySend(frame)) break;
      }
    }
    return dropped;
  }

  /** Frames written but not yet acknowledged, over all messages. */
  get unackedCount(): number {
    let count = 0;
    for (const message of this.messages.values()) count += message.unacked.length;
    return count;
  }

  /** Messages that still have output pending or may still produce some. */
  /** Tasks with output the hub has not acknowledged yet (possibly already finished here). */
  get taskIds(): string[] {
    return [
      ...new Set(
        [...this.messages.values()].filter((m) => m.unacked.length > 0).map((m) => m.taskId),
      ),
    ];
  }

  get messageIds(): string[] {
    return [...this.messages.keys()];
  }

  /** Frames not yet acknowledged for one message (for tests and diagnostics). */
  unackedOf(messageId: string): readonly OutputFrame[] {
    return this.messages.get(messageId)?.unacked ?? [];
  }
}
