import { TRACE_ATTRIBUTES } from "@wegent/protocol";

// Walks OTLP/HTTP JSON bodies (what an exporter sent) for the privacy tests and the e2e receiver.

export interface SeenSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

const valueOf = (v: Record<string, unknown>): unknown =>
  "intValue" in v ? Number(v.intValue) : Object.values(v)[0];

const attrs = (list: KeyValue[] | undefined) =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/** Hex ids (the JSON encoding); base64 ids (some exporters) are turned into hex. */
function hexId(id: string | undefined): string {
  if (!id) return "";
  if (/^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  return Array.from(atob(id), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

/** Every span of an OTLP/JSON traces body, flattened. */
export function spansOf(body: unknown): SeenSpan[] {
  const out: SeenSpan[] = [];
  const b = body as {
    resourceSpans?: {
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: { spans?: Record<string, unknown>[] }[];
    }[];
  };
  for (const rs of b.resourceSpans ?? []) {
    const service = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const parent = hexId(s.parentSpanId as string | undefined);
        out.push({
          service,
          traceId: hexId(s.traceId as string),
          spanId: hexId(s.spanId as string),
          parentSpanId: parent || null,
          name: String(s.name),
          startMs: Number(BigInt(String(s.startTimeUnixNano)) / 1_000_000n),
          endMs: Number(BigInt(String(s.endTimeUnixNano)) / 1_000_000n),
          attributes: attrs(s.attributes as KeyValue[] | undefined),
        });
      }
    }
  }
  return out;
}

/**
 * The privacy rule, checked: every attribute key is on the allow-list, and no span name or
 * attribute value contains any of the given secrets (prompts, replies, tool input, tokens).
 * Returns the violations (empty when clean).
 */
export function privacyViolations(spans: SeenSpan[], secrets: string[]): string[] {
  const found: string[] = [];
  for (const span of spans) {
    for (const [key, value] of Object.entries(span.attributes)) {
      if (!(key in TRACE_ATTRIBUTES)) found.push(`${span.name}: attribute ${key} is not allowed`);
      for (const secret of secrets) {
        if (String(value).includes(secret)) found.push(`${span.name}: ${key} holds a secret`);
      }
    }
    for (const secret of secrets) {
      if (span.name.includes(secret)) found.push(`span name ${span.name} holds a secret`);
    }
  }
  return found;
}
