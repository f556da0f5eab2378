import {
  formatTraceparent,
  type OtelConfig,
  otelConfig,
  parseTraceparent,
  safeAttributes,
  sampled,
  type TraceContext,
} from "@wegent/protocol";
import { log } from "../log";
import { type FinishedSpan, tracesBody } from "./otlp-json";

// Spans made by hand where no library sees a context: Durable Object RPC methods and hibernated
// WebSocket handlers (docs/observability.md). With no endpoint configured every call is a no-op
// and nothing is allocated per span beyond one shared object.

export interface Span {
  /** The span's own `traceparent` (to put on a frame or pass on), or undefined when off. */
  readonly traceparent: string | undefined;
  /** Adds attributes (filtered by the allow-list). */
  set(attributes: Record<string, unknown>): void;
  end(attributes?: Record<string, unknown>, endMs?: number, error?: boolean): void;
}

const NOOP: Span = { traceparent: undefined, set() {}, end() {} };

function hex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface SpanOptions {
  parent?: string | null | undefined;
  attributes?: Record<string, unknown>;
  startMs?: number;
  kind?: FinishedSpan["kind"];
}

export class Tracer {
  private pending: FinishedSpan[] = [];
  private flushing = false;

  constructor(
    private readonly config: OtelConfig | null,
    /** Keeps the object alive until the export is done (`ctx.waitUntil`). */
    private readonly keepAlive: (work: Promise<unknown>) => void,
    private readonly send: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  get enabled(): boolean {
    return this.config !== null;
  }

  start(name: string, options: SpanOptions = {}): Span {
    const config = this.config;
    if (!config) return NOOP;
    const parent = parseTraceparent(options.parent);
    const traceId = parent?.traceId ?? hex(16);
    const context: TraceContext = {
      traceId,
      spanId: hex(8),
      sampled: sampled(config, traceId, parent),
    };
    const startMs = options.startMs ?? Date.now();
    let attributes = safeAttributes(options.attributes ?? {});
    let ended = false;
    return {
      traceparent: formatTraceparent(context),
      set: (more) => {
        attributes = { ...attributes, ...safeAttributes(more) };
      },
      end: (more = {}, endMs = Date.now(), error = false) => {
        if (ended || !context.sampled) return;
        ended = true;
        this.record({
          traceId,
          spanId: context.spanId,
          parentSpanId: parent?.spanId ?? null,
          name,
          kind: options.kind ?? 1,
          startMs,
          endMs,
          attributes: { ...attributes, ...safeAttributes(more) },
          error,
        });
      },
    };
  }

  private record(span: FinishedSpan): void {
    this.pending.push(span);
    if (this.flushing) return;
    this.flushing = true;
    // Spans ended in the same turn leave together.
    this.keepAlive(Promise.resolve().then(() => this.flush()));
  }

  /** Sends what has ended; an export failure is logged and dropped, never thrown. */
  async flush(): Promise<void> {
    this.flushing = false;
    const config = this.config;
    const spans = this.pending.splice(0);
    if (!config || spans.length === 0) return;
    try {
      const response = await this.send(config.tracesUrl, {
        method: "POST",
        headers: { "content-type": "application/json", ...config.headers },
        body: JSON.stringify(tracesBody(config.serviceName, spans)),
      });
      await response.body?.cancel();
      if (!response.ok) log({ event: "otel.export_failed", status: response.status }, "warn");
    } catch {
      log({ event: "otel.export_failed", status: 0 }, "warn");
    }
  }
}

export const EDGE_SERVICE = "wegent-edge";

/** The tracer of a Worker or Durable Object environment (a no-op one when no endpoint is set). */
export function tracerFor(env: unknown, keepAlive: (work: Promise<unknown>) => void): Tracer {
  return new Tracer(otelConfig(env, EDGE_SERVICE), keepAlive);
}
