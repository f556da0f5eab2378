import {
  instrument,
  type ParentRatioSamplingConfig,
  type ResolveConfigFn,
} from "@microlabs/otel-cf-workers";
import { type OtelConfig, otelConfig } from "@wegent/protocol";
import { EDGE_SERVICE } from "../../edge/telemetry/tracer";
import { privateExporter } from "./privacy";

// The Worker's request spans: @microlabs/otel-cf-workers (it runs in workerd under `wrangler dev`
// and deployed, continues an incoming `traceparent`, exports OTLP/HTTP). The handler is wrapped
// once, but a request only goes through the wrapper when an endpoint is configured: with none
// set the plain handler answers, nothing is created and nothing is exported.

/**
 * The standard sampler names, as the library's parent/ratio sampler. The Worker is the public
 * edge: a caller's sampled flag (the browser's `01`, or anyone's) never decides here, or any
 * client could force tracing on every request or switch it off (W3C Trace Context, security
 * considerations). The caller's trace id and span id are kept (the browser stays the root) and
 * the sampler's own rule decides by the trace id; the hubs and the executor behind the Worker
 * follow the Worker's decision (parent based).
 */
export function samplingOf(config: OtelConfig): ParentRatioSamplingConfig {
  const ratio =
    config.sampler === "always_on" || config.sampler === "parentbased_always_on"
      ? 1
      : config.sampler === "always_off" || config.sampler === "parentbased_always_off"
        ? 0
        : config.ratio;
  return { ratio, acceptRemote: false };
}

const resolve: ResolveConfigFn = (env: unknown) => {
  const config = otelConfig(env, EDGE_SERVICE);
  // Only called on the traced path, where the endpoint is set.
  if (!config) throw new Error("OTEL_EXPORTER_OTLP_ENDPOINT is not set.");
  return {
    service: { name: config.serviceName },
    exporter: privateExporter({ url: config.tracesUrl, headers: config.headers }),
    sampling: { headSampler: samplingOf(config) },
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
