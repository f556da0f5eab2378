import { OTLPExporter, type OTLPExporterConfig } from "@microlabs/otel-cf-workers";
import { safeAttributes } from "@wegent/protocol";

type Exporter = Pick<OTLPExporter, "export" | "shutdown">;

/** Keeps only allow-listed attributes on each span (in place), before anything leaves. */
export function keepAllowed(spans: { attributes: unknown }[]): void {
  for (const span of spans) {
    const attributes = span.attributes as Record<string, unknown>;
    const kept = safeAttributes(attributes);
    for (const key of Object.keys(attributes)) delete attributes[key];
    Object.assign(attributes, kept);
  }
}

/**
 * The Worker's exporter: every exported span keeps only allow-listed attributes
 * (protocol/src/trace.ts). The library also records URLs, query strings, headers, user agents,
 * client network details and SQL text, which never leave. (Its `postProcessor` option is not
 * applied in 1.0.0-rc.52, so the filter sits in the exporter.)
 */
export function privateExporter(config: OTLPExporterConfig): Exporter {
  const otlp = new OTLPExporter(config);
  return {
    export(items, resultCallback) {
      keepAllowed(items as { attributes: unknown }[]);
      otlp.export(items, resultCallback);
    },
    shutdown: () => otlp.shutdown(),
  };
}
