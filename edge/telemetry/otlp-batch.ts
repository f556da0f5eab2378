// What the hub's tracer and metrics share: items recorded in one turn leave together as one
// OTLP/HTTP JSON POST, kept alive by `ctx.waitUntil`; a failed export is logged and dropped,
// never thrown (no `setTimeout`: a Durable Object has none).
import { log } from "../log";

export class OtlpBatch<T> {
  private pending: T[] = [];
  private flushing = false;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    /** The OTLP JSON body for this batch's items. */
    private readonly body: (items: T[]) => unknown,
    private readonly keepAlive: (work: Promise<unknown>) => void,
    private readonly send: typeof fetch,
  ) {}

  add(item: T): void {
    this.pending.push(item);
    if (this.flushing) return;
    this.flushing = true;
    this.keepAlive(Promise.resolve().then(() => this.flush()));
  }

  /** Sends what was recorded; a failure is logged and dropped, never thrown. */
  async flush(): Promise<void> {
    this.flushing = false;
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
