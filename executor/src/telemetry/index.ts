import { otelConfig } from "@wegent/protocol";
import { type ExecutorFigures, type ExecutorMetrics, NO_METRICS } from "./metrics-types";
import { type ExecutorTracing, NO_TRACING } from "./types";

export type { ExecutorTracing, MessageTrace, StepSpan } from "./types";
export type { ExecutorFigures, ExecutorMetrics } from "./metrics-types";
export { measured } from "./metrics-types";

// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; only then is the OpenTelemetry SDK
// imported (dynamically), so an idle executor without it keeps its memory.

export const EXECUTOR_SERVICE = "wegent-executor";

let current: ExecutorTracing = NO_TRACING;

/** The executor's tracing (a no-op until startTracing found an endpoint). */
export function tracing(): ExecutorTracing {
  return current;
}

/** Reads the OTEL_* environment; loads and starts the SDK only when an endpoint is set. */
export async function startTracing(
  env: Record<string, string | undefined>,
): Promise<ExecutorTracing> {
  const config = otelConfig(env, EXECUTOR_SERVICE);
  if (!config) return (current = NO_TRACING);
  const { sdkTracing } = await import("./sdk");
  current = await sdkTracing(config);
  return current;
}

/** For tests: install a tracing (or the no-op one). */
export function useTracing(next: ExecutorTracing): void {
  current = next;
}

// --- metrics: the same endpoint, headers and service name; off (and unloaded) when unset ---

let currentMetrics: ExecutorMetrics = NO_METRICS;

/** The executor's metrics (a no-op until startMetrics found an endpoint). */
export function metrics(): ExecutorMetrics {
  return currentMetrics;
}

/**
 * Reads the OTEL_* environment; only with an endpoint (and OTEL_METRICS_EXPORTER other than
 * `none`) is the exporter loaded and its timer started.
 */
export async function startMetrics(
  env: Record<string, string | undefined>,
  figures: () => ExecutorFigures,
  onExportFailed?: (status: number) => void,
): Promise<ExecutorMetrics> {
  const config = otelConfig(env, EXECUTOR_SERVICE);
  const off = (env.OTEL_METRICS_EXPORTER ?? "").trim().toLowerCase() === "none";
  if (!config || off) return (currentMetrics = NO_METRICS);
  const { otlpMetrics, exportIntervalMs } = await import("./metrics-export");
  currentMetrics = otlpMetrics(config, {
    figures,
    intervalMs: exportIntervalMs(env),
    ...(onExportFailed ? { onExportFailed } : {}),
  });
  return currentMetrics;
}

/** For tests: install metrics (or the no-op ones). */
export function useMetrics(next: ExecutorMetrics): void {
  currentMetrics = next;
}
