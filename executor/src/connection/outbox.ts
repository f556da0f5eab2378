import {
  MAX_BATCH_EVENTS,
  type TaskComplete,
  type TaskFailed,
  type TaskProgress,
  type TaskProgressBatch,
} from "@wegent/protocol";

/** The frames that carry a message's output; each one is kept until the hub acknowledges it. */
export type OutputFrame = TaskProgress | TaskComplete | TaskFailed;
/** What goes on the wire: an output frame, or several progress events in one batch. */
export type OutboundFrame = OutputFrame | TaskProgressBatch;
/** An output frame before the outbox gives it its sequence number. */
export type UnsequencedFrame =
  Omit<TaskProgress, "seq"> | Omit<TaskComplete, "seq"> | Omit<TaskFailed, "seq">;

/** How far the outbox may gather progress events into one frame. */
export interface BatchLimits {
  /** Events per frame; 1 sends every event in its own frame (no batching). */
  maxEvents: number;
  /** UTF-8 bytes of the gathered events per frame. */
  maxBytes: number;
  /** Longest an event waits for the frame before it to be acknowledged. */
  maxWaitMs: number;
}

export const DEFAULT_BATCH: BatchLimits = {
  maxEvents: MAX_BATCH_EVENTS,
  maxBytes: 256 * 1024,
  maxWaitMs: 50,
};

/**
 * `WEGENT_OUTPUT_BATCH_MAX=1` turns batching off (one event per frame, as before batching);
 * the bench uses it to measure both. Anything else that is not a whole number is ignored.
 */
export function batchLimitsFromEnv(env: Record<string, string | undefined>): Partial<BatchLimits> {
  const raw = env.WEGENT_OUTPUT_BATCH_MAX;
  if (raw === undefined || !/^\d{1,4}$/.test(raw) || Number(raw) < 1) return {};
  return { maxEvents: Number(raw) };
}

interface Kept {
  frame: OutputFrame;
  /** UTF-8 bytes of the event (progress) or the whole frame. */
  bytes: number;
  /** When the agent produced it (the frame was written here). */
  at: number;
}

interface MessageOutput {
  taskId: string;
  messageId: string;
  nextSeq: number;
  /** Sent or not, in seq order, not yet acknowledged. */
  unacked: Kept[];
  /** Highest seq handed to the current socket (reset on resume). */
  sentSeq: number;
  /** Highest seq the hub acknowledged. */
  ackedSeq: number;
  /** UTF-8 bytes of what is kept but not yet sent on this socket. */
  unsentBytes: number;
  /** Flushes the gathered events when the frame in flight is not acknowledged in time. */
  timer: ReturnType<typeof setTimeout> | null;
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
 * and stays here until the hub acknowledges it (acks are cumulative). The first event of a
 * burst is sent at once; while a frame of that message is unacknowledged, the next events
 * gather into one `task:progress-batch` (bounded by count, bytes and time), which goes out when
 * the ack arrives, a bound is reached, or the wait runs out. At low rates every event goes out
 * alone and at once; at high rates frames grow and the hub's per-frame costs are shared.
 * While the device is not registered frames wait, and `resume` re-sends exactly what the hub
 * has not stored, in order, after the next registration.
 */
export class Outbox {
  private readonly messages = new Map<string, MessageOutput>();
  private readonly limits: BatchLimits;

  constructor(
    /** Sends a frame now if the device is registered; false when it cannot. */
    private readonly trySend: (frame: OutboundFrame) => boolean,
    limits: Partial<BatchLimits> = {},
    /** Stream lag of each acknowledged frame: written here → the hub acknowledged it (metrics). */
    private readonly observeLag?: (ms: number) => void,
  ) {
    this.limits = { ...DEFAULT_BATCH, ...limits };
    this.limits.maxEvents = Math.max(1, Math.min(MAX_BATCH_EVENTS, this.limits.maxEvents));
  }

  /** Starts the output of a message; its first frame will be seq 1. */
  open(taskId: string, messageId: string): void {
    if (this.messages.has(messageId)) return;
    this.messages.set(messageId, {
      taskId,
      messageId,
      nextSeq: 1,
      unacked: [],
      sentSeq: 0,
      ackedSeq: 0,
      unsentBytes: 0,
      timer: null,
      ended: false,
    });
  }

  has(messageId: string): boolean {
    return this.messages.has(messageId);
  }

  /**
   * Numbers, keeps and (now or batched) sends a frame. Returns null when the message is
   * unknown — the hub dropped it (see `resume`), so its late output must go nowhere.
   */
  push(frame: UnsequencedFrame): OutputFrame | null {
    const message = this.messages.get(frame.messageId);
    if (!message || message.ended) return null;
    const sequenced = { ...frame, seq: message.nextSeq } as OutputFrame;
    message.nextSeq += 1;
    const bytes = Buffer.byteLength(
      JSON.stringify(sequenced.type === "task:progress" ? sequenced.event : sequenced),
    );
    message.unacked.push({ frame: sequenced, bytes, at: Date.now() });
    message.unsentBytes += bytes;
    if (sequenced.type !== "task:progress") {
      // The end of a reply is never held back: what gathered goes first, then the end.
      message.ended = true;
      this.flush(message);
      return sequenced;
    }
    if (message.sentSeq <= message.ackedSeq || this.limits.maxEvents === 1) {
      this.flush(message); // nothing in flight: no reason to wait
    } else if (this.gathered(message) >= this.limits.maxEvents) {
      this.flush(message);
    } else if (message.unsentBytes >= this.limits.maxBytes) {
      this.flush(message);
    } else if (!message.timer) {
      message.timer = setTimeout(() => {
        message.timer = null;
        this.flush(message);
      }, this.limits.maxWaitMs);
    }
    return sequenced;
  }

  /** The hub stored every frame of this message up to and including `seq`. */
  ack(messageId: string, seq: number): void {
    const message = this.messages.get(messageId);
    if (!message) return;
    message.ackedSeq = Math.max(message.ackedSeq, seq);
    if (this.observeLag) {
      const now = Date.now();
      for (const kept of message.unacked) {
        if (kept.frame.seq <= seq) this.observeLag(now - kept.at);
      }
    }
    message.unacked = message.unacked.filter((kept) => kept.frame.seq > seq);
    if (message.ended && message.unacked.length === 0) {
      this.forget(message);
      return;
    }
    // Everything sent is stored: what gathered meanwhile goes now, in one frame.
    if (message.sentSeq <= message.ackedSeq) this.flush(message);
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
        this.forget(message);
        dropped.push(message.messageId);
        continue;
      }
      // A new socket: nothing is in flight on it.
      message.sentSeq = Math.min(message.sentSeq, lastSeq);
      this.ack(message.messageId, lastSeq);
      if (this.messages.has(message.messageId)) this.flush(message);
    }
    return dropped;
  }

  /** Frames written but not yet acknowledged, over all messages. */
  get unackedCount(): number {
    let count = 0;
    for (const message of this.messages.values()) count += message.unacked.length;
    return count;
  }

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
    return (this.messages.get(messageId)?.unacked ?? []).map((kept) => kept.frame);
  }

  private forget(message: MessageOutput): void {
    if (message.timer) clearTimeout(message.timer);
    message.timer = null;
    this.messages.delete(message.messageId);
  }

  private unsent(message: MessageOutput): Kept[] {
    return message.unacked.filter((kept) => kept.frame.seq > message.sentSeq);
  }

  private gathered(message: MessageOutput): number {
    return message.nextSeq - 1 - Math.max(message.sentSeq, message.ackedSeq);
  }

  /** Sends everything not yet sent on this socket: progress in batches, then the end. */
  private flush(message: MessageOutput): void {
    if (message.timer) clearTimeout(message.timer);
    message.timer = null;
    const pending = this.unsent(message);
    const stopped = (at: number) => {
      message.unsentBytes = pending.slice(at).reduce((sum, kept) => sum + kept.bytes, 0);
    };
    let i = 0;
    while (i < pending.length) {
      const first = pending[i]!;
      if (first.frame.type !== "task:progress") {
        if (!this.trySend(first.frame)) return stopped(i);
        message.sentSeq = first.frame.seq;
        i += 1;
        continue;
      }
      const batch: TaskProgress[] = [first.frame];
      let bytes = first.bytes;
      let j = i + 1;
      while (j < pending.length && batch.length < this.limits.maxEvents) {
        const next = pending[j]!;
        if (next.frame.type !== "task:progress" || bytes + next.bytes > this.limits.maxBytes) break;
        batch.push(next.frame);
        bytes += next.bytes;
        j += 1;
      }
      const frame: OutboundFrame =
        batch.length === 1
          ? first.frame
          : {
              type: "task:progress-batch",
              taskId: message.taskId,
              messageId: message.messageId,
              events: batch.map((p) => ({ seq: p.seq, event: p.event })),
              ...(first.frame.traceparent ? { traceparent: first.frame.traceparent } : {}),
            };
      if (!this.trySend(frame)) return stopped(i);
      message.sentSeq = batch[batch.length - 1]!.seq;
      i = j;
    }
    message.unsentBytes = 0;
  }
}
