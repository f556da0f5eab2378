import type { Span, Tracer } from "../../edge/telemetry/tracer";
import type { SubmitRequest } from "./slot-types";
import type { HubStore, Work } from "./store";

// The DeviceHub's spans, continued by hand: RPC calls and hibernated socket handlers carry no
// trace context, so the Worker passes its `traceparent` to submit(), the hub keeps its submit
// span's context with the work (SQLite), puts the dispatch span's on task:execute, and a frame
// from the executor names its own span as the parent of what the hub does with it.

const ids = (w: Pick<Work, "taskId" | "messageId">) => ({
  "wegent.task_id": w.taskId,
  "wegent.message_id": w.messageId,
});

export class HubSpans {
  constructor(
    private readonly tracer: Tracer | undefined,
    private readonly store: HubStore,
  ) {}

  private get on(): Tracer | null {
    return this.tracer?.enabled ? this.tracer : null;
  }

  /** The submit span; its context is kept with the work for the spans that follow. */
  submit(request: SubmitRequest): Span | null {
    const tracer = this.on;
    if (!tracer) return null;
    return tracer.start("DeviceHub submit", {
      parent: request.traceparent,
      kind: 2,
      attributes: { ...ids(request), "wegent.device_id": this.store.getMeta().deviceId },
    });
  }

  /** After addWork: the later spans of this message continue the submit span. */
  keep(span: Span | null, messageId: string): void {
    if (span?.traceparent) this.store.setTraceparent(messageId, span.traceparent);
  }

  /** Queue wait (from queuedAt) and the dispatch; returns the `traceparent` for task:execute. */
  dispatched(w: Work, attempt: number): string | undefined {
    const tracer = this.on;
    if (!tracer) return undefined;
    const now = Date.now();
    const parent = w.traceparent;
    tracer
      .start("DeviceHub queue wait", { parent, startMs: w.queuedAt, attributes: ids(w) })
      .end({ "wegent.queue_wait_ms": Math.max(0, now - w.queuedAt) }, now);
    const span = tracer.start("DeviceHub dispatch", {
      parent,
      kind: 3,
      attributes: { ...ids(w), "wegent.attempt": attempt },
    });
    span.end();
    return span.traceparent;
  }

  /** One output batch stored (child of the executor's span that sent it, when it says so). */
  outputStored(w: Work, frameTraceparent: string | undefined, events: number, startMs: number) {
    this.on
      ?.start("DeviceHub output batch stored", {
        parent: frameTraceparent ?? w.traceparent,
        startMs,
        attributes: { ...ids(w), "wegent.events": events },
        // One per frame of a streaming reply: sent with the completion (or every 64 / 5 s).
        defer: true,
      })
      .end();
  }

  /** The message's end: its final write, the slot freed. */
  completion(w: Work, frameTraceparent: string | undefined, startMs: number) {
    return (status: string, code: string | null) =>
      this.on
        ?.start("DeviceHub completion", {
          parent: frameTraceparent ?? w.traceparent,
          startMs,
          attributes: {
            ...ids(w),
            "wegent.status": status,
            ...(code ? { "wegent.failure_code": code } : {}),
            ...(w.dispatchedAt ? { "wegent.duration_ms": Date.now() - w.dispatchedAt } : {}),
          },
        })
        .end({}, Date.now(), status === "failed");
  }
}
