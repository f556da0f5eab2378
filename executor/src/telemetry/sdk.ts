import type { Context, Span } from "@opentelemetry/api";
import type { Sampler as SdkSampler } from "@opentelemetry/sdk-trace-base";
import {
  formatTraceparent,
  type OtelConfig,
  parseTraceparent,
  safeAttributes,
} from "@wegent/protocol";
import { messageTrace } from "./message-trace";
import type { ExecutorTracing, SpanFactory } from "./types";

// The OpenTelemetry SDK (sdk-trace-base + OTLP/HTTP exporter + BatchSpanProcessor; not
// sdk-node, which adds ~41 MB). Every import is dynamic: the bundle keeps them external and
// this file's code runs only when an endpoint is configured.

export async function sdkTracing(config: OtelConfig): Promise<ExecutorTracing> {
  const [api, base, otlp, resources] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const ratio = new base.TraceIdRatioBasedSampler(config.ratio);
  const samplers: Record<OtelConfig["sampler"], SdkSampler> = {
    always_on: new base.AlwaysOnSampler(),
    always_off: new base.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() }),
    parentbased_always_off: new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() }),
    parentbased_traceidratio: new base.ParentBasedSampler({ root: ratio }),
  };
  const exporter = new otlp.OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers });
  const provider = new base.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": config.serviceName }),
    sampler: samplers[config.sampler],
    spanProcessors: [new base.BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer(config.serviceName);

  const contextOf = (traceparent: string | undefined): Context => {
    const parent = parseTraceparent(traceparent);
    if (!parent) return api.ROOT_CONTEXT;
    return api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: parent.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
      isRemote: true,
    });
  };
  const traceparentOf = (span: Span) => {
    const c = span.spanContext();
    return formatTraceparent({
      traceId: c.traceId,
      spanId: c.spanId,
      sampled: (c.traceFlags & api.TraceFlags.SAMPLED) === api.TraceFlags.SAMPLED,
    });
  };
  const factory: SpanFactory = {
    start(name, parent, attributes, startMs) {
      const span = tracer.startSpan(
        name,
        { attributes: safeAttributes(attributes), ...(startMs ? { startTime: startMs } : {}) },
        contextOf(parent),
      );
      return {
        traceparent: traceparentOf(span),
        end(more, endMs, error) {
          span.setAttributes(safeAttributes(more));
          if (error) span.setStatus({ code: api.SpanStatusCode.ERROR });
          span.end(endMs);
        },
      };
    },
  };
  return {
    enabled: true,
    message: (frame) => messageTrace(factory, frame),
    span(name, parent, attributes = {}) {
      const span = factory.start(name, parent, attributes);
      return { end: (more = {}, error = false) => span.end(more, Date.now(), error) };
    },
    shutdown: () => provider.shutdown(),
  };
}
