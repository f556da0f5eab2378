import { instrument, type ResolveConfigFn } from "@microlabs/otel-cf-workers";
import { type Sampler, SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { type OtelConfig, otelConfig } from "@wegent/protocol";
import { EDGE_SERVICE } from "../../edge/telemetry/tracer";
import { privateExporter } from "./privacy";

// The Worker's request spans: @microlabs/otel-cf-workers (it runs in workerd under `wrangler dev`
// and deployed, continues an incoming `traceparent`, exports OTLP/HTTP). The handler is wrapped
// once, but a request only goes through the wrapper when an endpoint is configured: with none
// set the plain handler answers, nothing is created and nothing is exported.

/**
 * The standard sampler names, decided at the Worker. The Worker is the public edge: a caller's
 * sampled flag (the browser's `01`, or anyone's) never decides here, or any client could force
 * tracing on every request or switch it off (W3C Trace Context, security considerations). Nor
 * does the caller's trace id: a ratio sampler compares the id's bits with the ratio, so a
 * caller choosing its id (`00000001…` is below every ratio, `ffffffff…` above even 1) could
 * force or hide its requests. So the ratio is drawn here (`random`), the caller's trace id and
 * span id are kept (the browser stays the root), and the hubs and the executor behind the
 * Worker follow the Worker's decision (parent based).
 */
export function headSampler(config: OtelConfig, random: () => number = Math.random): Sampler {
  const ratio =
    config.sampler === "always_on" || config.sampler === "parentbased_always_on"
      ? 1
      : config.sampler === "always_off" || config.sampler === "parentbased_always_off"
        ? 0
        : config.ratio;
  return {
    shouldSample: () => ({
      decision:
        ratio >= 1 || (ratio > 0 && random() < ratio)
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD,
    }),
    toString: () => `WegentEdgeSampler{ratio=${ratio}}`,
  };
}

const resolve: ResolveConfigFn = (env: unknown) => {
  const config = otelConfig(env, EDGE_SERVICE);
  // Only called on the traced path, where the endpoint is set.
  if (!config) throw new Error("OTEL_EXPORTER_OTLP_ENDPOINT is not set.");
  return {
    service: { name: config.serviceName },
    exporter: privateExporter({ url: config.tracesUrl, headers: config.headers }),
    sampling: { headSampler: headSampler(config) },
    // The spans are ours to shape: no global fetch/cache patching, only the allow-listed attributes.
    instrumentation: { instrumentGlobalFetch: false, instrumentGlobalCache: false },
  };
};

/** The handler traced when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and untouched otherwise. */
export function traced(handler: ExportedHandler<Env>): ExportedHandler<Env> {
  // instrument() replaces the handler's methods in place: it gets a copy with fetch only.
  const wrapped = instrument({ fetch: handler.fetch! }, resolve);
  return {
    ...handler,
    fetch: (request, env, ctx) =>
      env.OTEL_EXPORTER_OTLP_ENDPOINT
        ? wrapped.fetch!(request, env, ctx)
        : handler.fetch!(request, env, ctx),
  };
}
