import type { TraceAttributes } from "@wegent/protocol";

// OTLP/HTTP JSON encoding of finished spans (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// ids in hex, times as decimal strings of nanoseconds.

export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** 1 internal, 2 server, 3 client. */
  kind: 1 | 2 | 3;
  startMs: number;
  endMs: number;
  attributes: TraceAttributes;
  error: boolean;
}

type AnyValue =
  { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };

export function anyValue(value: string | number | boolean): AnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

export const keyValues = (attributes: TraceAttributes) =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));

const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export function resource(serviceName: string) {
  return { attributes: keyValues({ "service.name": serviceName }) };
}

export function tracesBody(serviceName: string, spans: FinishedSpan[]) {
  return {
    resourceSpans: [
      {
        resource: resource(serviceName),
        scopeSpans: [
          {
            scope: { name: serviceName },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(Math.max(s.endMs, s.startMs)),
              attributes: keyValues(s.attributes),
              status: { code: s.error ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  };
}
