import { z } from "zod";
import type { TraceContext } from "./trace";

// The standard OpenTelemetry environment, read the same way by the Worker/hubs and the executor.
// No endpoint: tracing is off (nothing is loaded, wrapped or exported).

export const OtelEnv = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_TRACES_SAMPLER: z.string().optional(),
  OTEL_TRACES_SAMPLER_ARG: z.string().optional(),
});

export type Sampler =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio";

export interface OtelConfig {
  /** Where spans go: `<endpoint>/v1/traces` (OTLP/HTTP). */
  tracesUrl: string;
  metricsUrl: string;
  /** Extra request headers (an API key: a secret, never logged). */
  headers: Record<string, string>;
  serviceName: string;
  sampler: Sampler;
  ratio: number;
}

const SAMPLERS = new Set<string>([
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
]);

/** `k1=v1,k2=v2` with URL-encoded values (the OTel spec's format); bad pairs are skipped. */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    try {
      out[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      continue;
    }
  }
  return out;
}

/** The tracing configuration of an environment, or null (off) when no usable endpoint is set. */
export function otelConfig(env: unknown, defaultService: string): OtelConfig | null {
  const parsed = OtelEnv.safeParse(env);
  if (!parsed.success) return null;
  const e = parsed.data;
  const endpoint = e.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return null;
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch {
    return null;
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") return null;
  const root = base.href.replace(/\/+$/, "");
  const samplerName = (e.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim().toLowerCase();
  const sampler = (SAMPLERS.has(samplerName) ? samplerName : "parentbased_always_on") as Sampler;
  const arg = Number(e.OTEL_TRACES_SAMPLER_ARG ?? "1");
  return {
    tracesUrl: `${root}/v1/traces`,
    metricsUrl: `${root}/v1/metrics`,
    headers: parseOtlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: e.OTEL_SERVICE_NAME?.trim() || defaultService,
    sampler,
    ratio: Number.isFinite(arg) ? Math.min(1, Math.max(0, arg)) : 1,
  };
}

/** The ratio sampler's decision for a trace id (its low 8 bytes against the ratio). */
function byRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  const low = parseInt(traceId.slice(16, 24), 16) / 0xffffffff;
  return low < ratio;
}

/** Whether a new span is recorded and exported, given its parent (if any). */
export function sampled(config: OtelConfig, traceId: string, parent: TraceContext | null): boolean {
  switch (config.sampler) {
    case "always_on":
      return true;
    case "always_off":
      return false;
    case "traceidratio":
      return byRatio(traceId, config.ratio);
    case "parentbased_always_on":
      return parent ? parent.sampled : true;
    case "parentbased_always_off":
      return parent ? parent.sampled : false;
    case "parentbased_traceidratio":
      return parent ? parent.sampled : byRatio(traceId, config.ratio);
  }
}
