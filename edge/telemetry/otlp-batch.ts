// What the hub's tracer and metrics share: items recorded in one turn leave together as one
// OTLP/HTTP JSON POST, kept alive by `ctx.waitUntil`; a failed export is logged and dropped,
// never thrown (no `setTimeout`: a Durable Object has none). Frequent, small items (a span per
// output batch of a streaming reply) may be deferred: they wait for the next item that is not,
// or until DEFER_MAX of them or DEFER_MS have gathered, so a streaming reply does not make one
// POST per frame (measured: +2 ms on the relay path when each frame posted).

import { log } from "../log";

/** Deferred items sent together at the latest once this many have gathered… */
export const DEFER_MAX = 64;
/** …or once the oldest waited this long (checked when the next one arrives). */
export const DEFER_MS = 5_000;

export class OtlpBatch<T> {
  private pending: T[] = [];
  private flushing = false;
  /** When the oldest deferred item not yet sent was added (epoch ms), or null. */
  private deferredSince: number | null = null;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    /** The OTLP JSON body for this batch's items. */
    private readonly body: (items: T[]) => unknown,
    private readonly keepAlive: (work: Promise<unknown>) => void,
    private readonly send: typeof fetch,
  ) {}

  add(item: T, defer = false): void {
    this.pending.push(item);
    if (defer) {
      const now = Date.now();
      this.deferredSince ??= now;
      if (this.pending.length < DEFER_MAX && now - this.deferredSince < DEFER_MS) return;
    }
    if (this.flushing) return;
    this.flushing = true;
    this.keepAlive(Promise.resolve().then(() => this.flush()));
  }

  /** Sends what was recorded; a failure is logged and dropped, never thrown. */
  async flush(): Promise<void> {
    this.flushing = false;
    this.deferredSince = null;
    const items = this.pending.splice(0);
    if (items.length === 0) return;
    try {
      const response = await this.send(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.headers },
        body: JSON.stringify(this.body(items)),
      });
      await response.body?.cancel();
      if (!response.ok) log({ event: "otel.export_failed", status: response.status }, "warn");
    } catch {
      log({ event: "otel.export_failed", status: 0 }, "warn");
    }
  }
}
