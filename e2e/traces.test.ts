// One message from the real stack (wrangler dev, the real executor, real Claude Code against the
// fake model) makes one trace: the caller's traceparent is the root, the Worker, the DeviceHub
// and the executor continue it across RPC and the socket, and no span carries the prompt, the
// reply, the tool's input or a secret. Spans go to a loopback OTLP/HTTP (JSON) receiver.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskWithMessages } from "@wegent/protocol";
import { type FakeModel, startFakeModel, text, toolUse } from "./fake-model/server";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  type Session,
  signUp,
  startExecutor,
  startPlatform,
  until,
} from "./harness";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver";
import { privacyViolations } from "../edge/telemetry/otlp-walk";

const TRACE = "5f1e2d3c4b5a69788796a5b4c3d2e1f0";
const CALLER = "a1b2c3d4e5f60718";
const OTLP_KEY = "otlp-key-never-in-a-span";
const PROMPT = "Please write the traced greeting file";
const COMMAND = "printf 'traced hello' > traced.txt";
const REPLY = "Wrote traced.txt as asked.";

let receiver: OtlpReceiver;
let platform: Platform;
let fake: FakeModel;
let user: Session;
let token: string;
let executor: ExecutorProcess | null = null;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: `x-otlp-key=${OTLP_KEY}`,
  };
  // As `npm start` does: the OTEL_* of the environment wrangler-dev.mjs runs in become the
  // Worker's bindings (not arguments: the headers are a secret).
  Object.assign(process.env, otel);
  try {
    platform = await startPlatform();
  } finally {
    for (const name of Object.keys(otel)) delete process.env[name];
  }
  fake = await startFakeModel();
  user = await signUp(platform.origin, "traced_user");
  token = (await createToken(platform.origin, user)).token;
  // The executor's metrics every second (default 60 s), so the test sees them while it runs.
  const executorOtel = { ...otel, OTEL_METRIC_EXPORT_INTERVAL: "1000" };
  executor = startExecutor({
    origin: platform.origin,
    token,
    modelUrl: fake.url,
    env: executorOtel,
  });
  await executor.waitFor("registered");
}, 180_000);

afterAll(async () => {
  await executor?.stop("SIGKILL");
  await fake?.close();
  await platform?.stop();
  await receiver?.close();
});

describe("traces of one message", () => {
  it("share the caller's trace id from the Worker through the DeviceHub to the executor, with correct parents and nothing private", async () => {
    fake.on("traced greeting file", [
      {
        blocks: [text("Writing it."), toolUse("Bash", { command: COMMAND, description: "write" })],
      },
      { blocks: [text(REPLY)] },
    ]);
    const res = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie!,
      body: { message: PROMPT },
      headers: { traceparent: `00-${TRACE}-${CALLER}-01` },
    });
    expect(res.status).toBe(201);
    const taskId = res.body.task.id;
    await until(
      async () => {
        const d = (
          await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${taskId}`, {
            cookie: user.cookie!,
          })
        ).body;
        return d.messages.at(-1)?.status === "completed" ? d : undefined;
      },
      90_000,
      "the message to complete",
    );
    const wanted = [
      "DeviceHub submit",
      "DeviceHub dispatch",
      "DeviceHub completion",
      "executor message",
      "executor agent start",
      "executor first token",
      "executor tool call",
    ];
    // The executor's batch processor sends within a second or two.
    const spans = await until(
      async () => {
        const all = receiver.spans().filter((s) => s.traceId === TRACE);
        return wanted.every((n) => all.some((s) => s.name === n)) ? all : undefined;
      },
      30_000,
      "the spans of the message",
    );
    const one = (name: string) => spans.find((s) => s.name === name)!;
    const request = spans.find((s) => s.service === "wegent-edge" && s.parentSpanId === CALLER);
    expect(request, "the Worker's request span continues the caller's traceparent").toBeTruthy();
    expect(request!.attributes["http.route"]).toBe("/api/tasks");
    expect(request!.attributes["http.response.status_code"]).toBe(201);
    expect(Number(request!.attributes["wegent.d1_round_trips"])).toBeGreaterThan(0);
    expect(one("DeviceHub submit").parentSpanId).toBe(request!.spanId);
    expect(one("DeviceHub dispatch").parentSpanId).toBe(one("DeviceHub submit").spanId);
    // Across the socket: task:execute carried the dispatch span.
    const message = one("executor message");
    expect(message.service).toBe("wegent-executor");
    expect(message.parentSpanId).toBe(one("DeviceHub dispatch").spanId);
    for (const name of ["executor agent start", "executor first token", "executor tool call"]) {
      expect(one(name).parentSpanId).toBe(message.spanId);
    }
    expect(one("executor tool call").attributes["wegent.tool_name"]).toBe("Bash");
    // And back: the hub's output and completion spans are children of the executor's span.
    expect(one("DeviceHub completion").parentSpanId).toBe(message.spanId);
    // The OTLP headers reached the receiver (configuration works) and no span holds a secret.
    const traced = receiver.exports.filter((e) => e.path === "/v1/traces");
    expect(traced.every((e) => e.headers["x-otlp-key"] === OTLP_KEY)).toBe(true);
    const all = receiver.spans();
    expect(
      privacyViolations(all, [
        PROMPT,
        "traced greeting",
        COMMAND,
        "traced hello",
        REPLY,
        OTLP_KEY,
        token,
      ]),
    ).toEqual([]);
    // The hub's metrics reached the same receiver: slots in use and the message's duration.
    const metricNames = await until(
      () => {
        const names = new Set(
          receiver.exports
            .filter((e) => e.path === "/v1/metrics")
            .flatMap((e) => JSON.stringify(e.body).match(/"name":"wegent\.[a-z_.]+"/g) ?? []),
        );
        return names.has('"name":"wegent.task.duration"') ? names : undefined;
      },
      15_000,
      "the hub's metrics",
    );
    expect(metricNames).toContain('"name":"wegent.device.slots_in_use"');
    expect(metricNames).toContain('"name":"wegent.task.time_to_first_token"');
    const metricsText = JSON.stringify(
      receiver.exports.filter((e) => e.path === "/v1/metrics").map((e) => e.body),
    );
    for (const secret of [PROMPT, REPLY, COMMAND, OTLP_KEY, token]) {
      expect(metricsText).not.toContain(secret);
    }
  });

  it("the executor's metrics and the Worker's D1 round trips per route reach the same receiver", async () => {
    // Runs after the message above: its duration, first token and stream lag as the device saw them.
    type Dp = { attributes?: { key: string; value: Record<string, unknown> }[] };
    type Metric = { name: string } & Record<string, unknown>;
    const metrics = () =>
      receiver.exports
        .filter((e) => e.path === "/v1/metrics")
        .flatMap((e) => {
          const body = e.body as {
            resourceMetrics?: {
              resource?: Dp;
              scopeMetrics?: { metrics?: Metric[] }[];
            }[];
          };
          return (body.resourceMetrics ?? []).flatMap((rm) => {
            const service = rm.resource?.attributes?.find((kv) => kv.key === "service.name");
            return (rm.scopeMetrics ?? []).flatMap((sm) =>
              (sm.metrics ?? []).map((m) => ({
                service: service ? Object.values(service.value)[0] : undefined,
                name: m.name,
                points: ["gauge", "sum", "histogram"].flatMap(
                  (kind) => (m[kind] as { dataPoints?: Dp[] } | undefined)?.dataPoints ?? [],
                ),
              })),
            );
          });
        });
    const wanted = [
      "wegent.executor.task.duration",
      "wegent.executor.task.time_to_first_token",
      "wegent.executor.stream_lag",
      "wegent.executor.slots_in_use",
      "wegent.http.d1_round_trips",
    ];
    const got = await until(
      () => {
        const all = metrics();
        const names = new Set(all.map((m) => m.name));
        return wanted.every((name) => names.has(name)) ? all : undefined;
      },
      20_000,
      "the executor's and the Worker's metrics",
    );
    for (const m of got.filter((m) => m.name.startsWith("wegent.executor."))) {
      expect(m.service).toBe("wegent-executor");
    }
    const routes = got
      .filter((m) => m.name === "wegent.http.d1_round_trips")
      .flatMap((m) => m.points)
      .flatMap((p) => p.attributes ?? [])
      .filter((kv) => kv.key === "http.route")
      .map((kv) => Object.values(kv.value)[0]);
    expect(routes).toContain("/api/tasks");
    // The hub's presence gauge: sent when the device registered, not only at the message's
    // submit and end (three or more, each 1).
    const online = got
      .filter((m) => m.name === "wegent.device.online")
      .flatMap((m) => m.points as { asInt?: string }[]);
    expect(online.length).toBeGreaterThanOrEqual(3);
    expect(online.every((p) => p.asInt === "1")).toBe(true);
    const text = JSON.stringify(
      receiver.exports.filter((e) => e.path === "/v1/metrics").map((e) => e.body),
    );
    for (const secret of [PROMPT, REPLY, COMMAND, "traced hello", OTLP_KEY, token]) {
      expect(text).not.toContain(secret);
    }
  });
});
