import type { LiveEvent } from "@wegent/protocol";
import { log } from "../edge/log";
import { userHub } from "./contract";

const MAX_BATCH = 500;
/** A call carries about this many deltas at most (batches hold up to 500 each). */
const MAX_DELTAS = 5_000;

/**
 * The hub's way to the users' live channels. Events for one user keep their order, and the
 * hub never waits on a cross-object call per output frame: while one batch is on its way,
 * later events gather into the next. At low rates a batch is one event (no added latency); at
 * high rates the batches grow, so throughput is not bound by one round trip per frame.
 */
export class LiveOutbox {
  private readonly pending = new Map<string, LiveEvent[]>();
  private readonly flushing = new Map<string, Promise<void>>();

  constructor(
    private readonly env: Env,
    private readonly keepAlive: (work: Promise<unknown>) => void,
  ) {}

  push(userId: string, event: LiveEvent): void {
    const queue = this.pending.get(userId);
    if (queue) queue.push(event);
    else this.pending.set(userId, [event]);
    if (!this.flushing.has(userId)) {
      const work = this.flush(userId);
      this.flushing.set(userId, work);
      this.keepAlive(work);
    }
  }

  private async flush(userId: string): Promise<void> {
    const hub = userHub(this.env, userId);
    try {
      for (;;) {
        const queue = this.pending.get(userId);
        if (!queue || queue.length === 0) break;
        const batch = queue.splice(0, batchLength(queue));
        try {
          await hub.publishMany(batch);
        } catch (error) {
          // The browser resumes from what the channel has; the hub's own store is the truth.
          log(
            { event: "live.publish_failed", userId, events: batch.length, message: String(error) },
            "error",
          );
        }
      }
    } finally {
      this.pending.delete(userId);
      this.flushing.delete(userId);
    }
  }
}

/** How many queued events go in one call: at most MAX_BATCH, and about MAX_DELTAS deltas. */
function batchLength(queue: LiveEvent[]): number {
  let deltas = 0;
  for (let i = 0; i < Math.min(queue.length, MAX_BATCH); i++) {
    const event = queue[i]!;
    deltas += event.type === "message:deltas" ? event.events.length : 1;
    if (deltas > MAX_DELTAS) return Math.max(1, i);
  }
  return Math.min(queue.length, MAX_BATCH);
}
