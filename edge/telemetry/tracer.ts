import {
  formatTraceparent,
  type OtelConfig,
  otelConfig,
  parseTraceparent,
  safeAttributes,
  sampled,
  type TraceContext,
} from "@wegent/protocol";
import { OtlpBatch } from "./otlp-batch";
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
  /** Frequent and small (one per output batch): sent with the next span that is not. */
  defer?: boolean;
}

export class Tracer {
  private readonly batch: OtlpBatch<FinishedSpan> | null;

  constructor(
    private readonly config: OtelConfig | null,
    /** Keeps the object alive until the export is done (`ctx.waitUntil`). */
    keepAlive: (work: Promise<unknown>) => void,
    send: typeof fetch = (input, init) => fetch(input, init),
  ) {
    this.batch = config
      ? new OtlpBatch(
          config.tracesUrl,
          config.headers,
          (spans) => tracesBody(config.serviceName, spans),
          keepAlive,
          send,
        )
      : null;
  }

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
        this.record(
          {
            traceId,
            spanId: context.spanId,
            parentSpanId: parent?.spanId ?? null,
            name,
            kind: options.kind ?? 1,
            startMs,
            endMs,
            attributes: { ...attributes, ...safeAttributes(more) },
            error,
          },
          options.defer === true,
        );
      },
    };
  }

  private record(span: FinishedSpan, defer: boolean): void {
    // Spans ended in the same turn leave together (deferred ones with a later turn's).
    this.batch?.add(span, defer);
  }

  /** Sends what has ended; an export failure is logged and dropped, never thrown. */
  async flush(): Promise<void> {
    await this.batch?.flush();
  }
}

export const EDGE_SERVICE = "wegent-edge";

/** The tracer of a Worker or Durable Object environment (a no-op one when no endpoint is set). */
export function tracerFor(env: unknown, keepAlive: (work: Promise<unknown>) => void): Tracer {
  return new Tracer(otelConfig(env, EDGE_SERVICE), keepAlive);
}
