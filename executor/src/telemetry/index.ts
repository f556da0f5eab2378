import { otelConfig } from "@wegent/protocol";
import { type ExecutorTracing, NO_TRACING } from "./types";

export type { ExecutorTracing, MessageTrace, StepSpan } from "./types";

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
