import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { formatTraceparent, otelConfig, parseTraceparent } from "@wegent/protocol";
import { sdkTracing } from "../src/telemetry/sdk";
import { startTracing, tracing } from "../src/telemetry";
import { claudeTelemetryEnv } from "../src/telemetry/claude-env";
import { privacyViolations, spansOf } from "../../edge/telemetry/otlp-walk";

// The executor's spans through the real OpenTelemetry SDK and OTLP/HTTP exporter, received by a
// loopback OTLP/JSON receiver: they continue the hub's traceparent, name agent start, first
// token and each tool call, and carry nothing of the prompt, the reply or the tool's input.

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const HUB_SPAN = "b7ad6b7169203331";
const SECRETS = ["print the key", "sk-live-123", "cat /etc/passwd", "root:x:0:0", "the answer is"];

let server: Server | null = null;
afterEach(() => server?.close());

async function receiver() {
  const bodies: unknown[] = [];
  const paths: string[] = [];
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      paths.push(req.url ?? "");
      bodies.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { endpoint: `http://127.0.0.1:${port}`, bodies, paths };
}

describe("executor tracing", () => {
  it("is off with no endpoint: nothing loaded, a no-op trace", async () => {
    const off = await startTracing({});
    expect(off.enabled).toBe(false);
    expect(tracing().message({ taskId: "t", messageId: "m" }).traceparent).toBeUndefined();
  });

  it("exports the message's spans under the hub's traceparent, with no prompt, reply or tool input", async () => {
    const r = await receiver();
    const config = otelConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc" },
      "wegent-executor",
    )!;
    const traces = await sdkTracing(config);
    const hub = formatTraceparent({ traceId: TRACE, spanId: HUB_SPAN, sampled: true });
    const trace = traces.message({ taskId: "task-1", messageId: "msg-1", traceparent: hub });
    expect(parseTraceparent(trace.traceparent)?.traceId).toBe(TRACE);
    trace.step("executor workspace preparation").end({ "wegent.workspace_kind": "scratch" });
    // An attribute outside the allow-list is dropped even if code tries to set it.
    trace.step("executor pre-execute hook", { prompt: "print the key sk-live-123" }).end();
    trace.agentStarting();
    trace.event({ kind: "thinking" });
    trace.event({ kind: "text" });
    trace.event({ kind: "tool_use", toolUseId: "tu1", name: "Bash" });
    trace.event({ kind: "tool_result", toolUseId: "tu1", durationMs: 42 });
    trace.end("completed");
    await traces.shutdown();

    expect(r.paths).toContain("/v1/traces");
    const spans = r.bodies.flatMap(spansOf);
    const names = spans.map((s) => s.name).sort();
    expect(names).toEqual([
      "executor agent start",
      "executor first token",
      "executor message",
      "executor pre-execute hook",
      "executor tool call",
      "executor workspace preparation",
    ]);
    const root = spans.find((s) => s.name === "executor message")!;
    expect(root.parentSpanId).toBe(HUB_SPAN);
    expect(root.service).toBe("wegent-executor");
    for (const s of spans) {
      expect(s.traceId).toBe(TRACE);
      if (s !== root) expect(s.parentSpanId).toBe(root.spanId);
    }
    const tool = spans.find((s) => s.name === "executor tool call")!;
    expect(tool.attributes).toMatchObject({ "wegent.tool_name": "Bash", "wegent.duration_ms": 42 });
    expect(root.attributes).toMatchObject({ "wegent.status": "completed", "wegent.tool_calls": 1 });
    expect(privacyViolations(spans, SECRETS)).toEqual([]);
  });

  it("passes Claude Code's own telemetry through only when the owner turns it on, tagged, without the OTLP key", () => {
    expect(claudeTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" }, "task-1")).toEqual({});
    const env = claudeTelemetryEnv(
      {
        CLAUDE_CODE_ENABLE_TELEMETRY: "1",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
        OTEL_METRICS_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer secret",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x=secret",
        OTEL_SERVICE_NAME: "wegent-executor",
        OTEL_RESOURCE_ATTRIBUTES: "team=a",
      },
      "task-1",
    );
    expect(env).toEqual({
      CLAUDE_CODE_ENABLE_TELEMETRY: "1",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_RESOURCE_ATTRIBUTES: "team=a,wegent.task_id=task-1",
    });
  });
});
