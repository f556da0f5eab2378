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

/** The standard sampler names, as the library's parent/ratio sampler. */
export function samplingOf(config: OtelConfig): ParentRatioSamplingConfig {
  const ratio =
    config.sampler === "always_on" || config.sampler === "parentbased_always_on"
      ? 1
      : config.sampler === "always_off" || config.sampler === "parentbased_always_off"
        ? 0
        : config.ratio;
  return { ratio, acceptRemote: config.sampler.startsWith("parentbased_") };
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
