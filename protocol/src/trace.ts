import { z } from "zod";

// Trace context and the one attribute allow-list (docs/observability.md). Both the Worker/hubs
// and the executor build span attributes only through `safeAttributes`, so a prompt, a reply, a
// tool's input or output, a path, a token or a credential cannot reach an exported span: a key
// that is not listed here is dropped, and a listed key only takes the kind of value it names.

/** W3C trace context: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
export const Traceparent = z
  .string()
  .regex(/^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/);
export type Traceparent = z.infer<typeof Traceparent>;

export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** The trace context of a `traceparent` header or field, or null when absent or malformed. */
export function parseTraceparent(value: string | null | undefined): TraceContext | null {
  if (!value || !Traceparent.safeParse(value).success) return null;
  const [, traceId, spanId, flags] = value.split("-");
  return { traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;
}

/** Ids: our own ids (uuid-like) only; a free text in an id slot is dropped. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Names and codes: lower-case words (a route template, an error code, a tool name). */
const NAME = /^[A-Za-z0-9_.:/*-]{1,100}$/;

type Kind = "id" | "name" | "count" | "ms" | "bool";

/** Every attribute key a span or metric may carry, and the kind of value it takes. */
export const TRACE_ATTRIBUTES: Readonly<Record<string, Kind>> = {
  // ids
  "wegent.task_id": "id",
  "wegent.message_id": "id",
  "wegent.device_id": "id",
  "wegent.request_id": "id",
  // names and codes
  "http.route": "name",
  "http.request.method": "name",
  "wegent.stage": "name",
  "wegent.status": "name",
  "wegent.failure_code": "name",
  "wegent.tool_name": "name",
  "wegent.input_kind": "name",
  "wegent.input_answer": "name",
  "wegent.workspace_kind": "name",
  "wegent.runtime": "name",
  "wegent.hook_outcome": "name",
  "wegent.archive_outcome": "name",
  "wegent.frame_type": "name",
  "wegent.reconnect_reason": "name",
  "wegent.status_class": "name",
  // counts, sizes, durations
  "http.response.status_code": "count",
  "wegent.d1_round_trips": "count",
  "wegent.attempt": "count",
  "wegent.queue_position": "count",
  "wegent.events": "count",
  "wegent.bytes": "count",
  "wegent.slots_used": "count",
  "wegent.queue_length": "count",
  "wegent.tool_calls": "count",
  "wegent.files": "count",
  "wegent.close_code": "count",
  "wegent.duration_ms": "ms",
  "wegent.queue_wait_ms": "ms",
  // flags
  "wegent.resumed": "bool",
  "wegent.cache_hit": "bool",
  "wegent.ok": "bool",
};

export type TraceAttributeValue = string | number | boolean;
export type TraceAttributes = Record<string, TraceAttributeValue>;

function allowed(kind: Kind, value: unknown): value is TraceAttributeValue {
  switch (kind) {
    case "id":
      return typeof value === "string" && ID.test(value);
    case "name":
      return typeof value === "string" && NAME.test(value);
    case "count":
    case "ms":
      return typeof value === "number" && Number.isFinite(value) && value >= 0;
    case "bool":
      return typeof value === "boolean";
  }
}

/** Keeps only listed keys whose value is of the listed kind; everything else is dropped. */
export function safeAttributes(input: Record<string, unknown>): TraceAttributes {
  const out: TraceAttributes = {};
  for (const [key, value] of Object.entries(input)) {
    const kind = TRACE_ATTRIBUTES[key];
    if (kind && allowed(kind, value)) out[key] = value;
  }
  return out;
}

/** Resource attributes every exporter may send (the service's own name and version). */
export const RESOURCE_ATTRIBUTES = ["service.name", "service.version", "service.namespace"];
