import { trace } from "@opentelemetry/api";
import { formatTraceparent } from "@wegent/protocol";

// The Worker's active request span (set by otel-cf-workers when tracing is on; none otherwise).

/** The current span's `traceparent`, to hand to a Durable Object (RPC carries no context). */
export function currentTraceparent(): string | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return formatTraceparent({ traceId, spanId, sampled: (traceFlags & 1) === 1 });
}

/** Adds our attributes to the request span (the privacy filter runs before export). */
export function tagRequest(attributes: Record<string, string | number | boolean>): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
