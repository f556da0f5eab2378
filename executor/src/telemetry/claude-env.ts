// Claude Code's own telemetry, passed through when the owner turns it on for this executor
// (CLAUDE_CODE_ENABLE_TELEMETRY=1 with the OTEL_* variables), tagged with the task id so its
// events line up with ours. The OTLP headers (an API key) are NOT passed: the agent runs code
// the model chose, and a secret in its environment is readable by that code. Point Claude
// Code at a collector that needs no key (e.g. one on loopback) — docs/observability.md.

const NOT_PASSED = new Set(["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"]);
const isHeaders = (name: string) => /^OTEL_EXPORTER_OTLP_(?:[A-Z]+_)?HEADERS$/.test(name);

export function claudeTelemetryEnv(
  base: Record<string, string | undefined>,
  taskId: string,
): Record<string, string> {
  const on = (base.CLAUDE_CODE_ENABLE_TELEMETRY ?? "").trim();
  if (on !== "1" && on.toLowerCase() !== "true") return {};
  const env: Record<string, string> = { CLAUDE_CODE_ENABLE_TELEMETRY: "1" };
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined || !name.startsWith("OTEL_")) continue;
    if (NOT_PASSED.has(name) || isHeaders(name)) continue;
    env[name] = value;
  }
  const own = (base.OTEL_RESOURCE_ATTRIBUTES ?? "").trim();
  const tag = `wegent.task_id=${encodeURIComponent(taskId)}`;
  env.OTEL_RESOURCE_ATTRIBUTES = own ? `${own},${tag}` : tag;
  return env;
}
