// The executor's metrics (docs/observability.md "The metrics"): recorded in memory and sent as
// OTLP/HTTP JSON to a loopback receiver; from the built CLI as a user runs it, on (an endpoint)
// and off (none: nothing sent, the exporter never started). No prompt, reply or token in any.
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { otelConfig, TRACE_ATTRIBUTES } from "@wegent/protocol";
import { otlpMetrics } from "../src/telemetry/metrics-export";
import { measured, metrics, startMetrics } from "../src/telemetry";
import { NO_MESSAGE_TRACE } from "../src/telemetry/types";
import { FakeHub } from "./fake-hub";

const PROMPT = "a prompt that must never be a metric";
const REPLY = "a reply that must never be a metric";
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-part-of-the-token.sig9Zq";

interface Point {
  name: string;
  kind: string;
  attributes: Record<string, unknown>;
  value: number;
  count?: number;
}
type KV = { key: string; value: Record<string, unknown> };
const attrs = (list: KV[] = []) =>
  Object.fromEntries(list.map((kv) => [kv.key, Object.values(kv.value)[0]]));

function pointsOf(body: unknown): Point[] {
  type Dp = Record<string, unknown> & { attributes?: KV[] };
  type Metric = { name: string } & Record<string, { dataPoints?: Dp[] } | string | undefined>;
  const b = body as { resourceMetrics?: { scopeMetrics?: { metrics?: Metric[] }[] }[] };
  const out: Point[] = [];
  for (const rm of b.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? [])
        for (const kind of ["gauge", "sum", "histogram"]) {
          const data = m[kind];
          for (const dp of typeof data === "object" ? (data.dataPoints ?? []) : []) {
            out.push({
              name: m.name,
              kind,
              attributes: attrs(dp.attributes),
              value: Number(dp.asInt ?? dp.sum ?? dp.asDouble),
              ...(dp.count !== undefined ? { count: Number(dp.count) } : {}),
            });
          }
        }
  return out;
}

let server: Server | null = null;
afterEach(() => server?.close());

async function receiver() {
  const got = { endpoint: "", bodies: [] as unknown[], paths: [] as string[], raw: "" };
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.paths.push(req.url ?? "");
      got.raw += body;
      got.bodies.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  got.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return got;
}

const figures = () => ({ deviceId: "dev-1", slotsInUse: 2, slots: 5, unackedFrames: 1 });

function expectPrivate(points: Point[], raw: string) {
  for (const p of points) {
    for (const key of Object.keys(p.attributes)) expect(key in TRACE_ATTRIBUTES, key).toBe(true);
  }
  for (const secret of [PROMPT, REPLY, "secret-part-of-the-token", "x-api-key", "abc123"]) {
    expect(raw).not.toContain(secret);
  }
}

describe("executor metrics, recorded and exported", () => {
  it("sends reconnects, stream lag, task duration, first token, failures and slots (delta, aggregated)", async () => {
    const r = await receiver();
    const config = otelConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc123" },
      "wegent-executor",
    )!;
    const m = otlpMetrics(config, { figures, intervalMs: 3_600_000 });
    m.reconnect("link_lost", 1006);
    m.reconnect("link_lost", 1006);
    m.reconnect("unreachable", 1006);
    m.streamLag(12);
    m.streamLag(30_000);
    let t = 1_000;
    const trace = measured(NO_MESSAGE_TRACE, m, "claude-code", () => t);
    t += 700;
    trace.event({ kind: "tool_use", toolUseId: "x", name: "Bash" });
    t += 300;
    trace.event({ kind: "text" });
    t += 1_000;
    trace.end("completed");
    trace.end("failed", "internal_error"); // a second end is not a second message
    const failed = measured(NO_MESSAGE_TRACE, m, "codex", () => t);
    failed.end("failed", "agent_error");
    m.messageEnded({
      runtime: "claude-code",
      status: "failed",
      code: "cancelled",
      durationMs: null,
      firstTokenMs: null,
    });
    await m.shutdown();

    expect(r.paths).toEqual(["/v1/metrics"]);
    const points = r.bodies.flatMap(pointsOf);
    const named = (name: string) => points.filter((p) => p.name === name);
    expect(named("wegent.executor.reconnects")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: "sum",
          value: 2,
          attributes: { "wegent.reconnect_reason": "link_lost", "wegent.close_code": "1006" },
        }),
        expect.objectContaining({
          value: 1,
          attributes: expect.objectContaining({ "wegent.reconnect_reason": "unreachable" }),
        }),
      ]),
    );
    expect(named("wegent.executor.stream_lag")).toEqual([
      expect.objectContaining({ kind: "histogram", count: 2, value: 30_012 }),
    ]);
    const durations = named("wegent.executor.task.duration");
    expect(durations.map((p) => [p.attributes["wegent.status"], p.value]).sort()).toEqual([
      ["completed", 2_000],
      ["failed", 0],
    ]);
    expect(named("wegent.executor.task.time_to_first_token")).toEqual([
      expect.objectContaining({ value: 1_000, attributes: { "wegent.runtime": "claude-code" } }),
    ]);
    const failures = named("wegent.executor.task.failures").map((p) => p.attributes);
    expect(failures).toHaveLength(2);
    expect(failures.map((a) => a["wegent.failure_code"]).sort()).toEqual([
      "agent_error",
      "cancelled",
    ]);
    expect(named("wegent.executor.slots_in_use")).toEqual([
      expect.objectContaining({
        kind: "gauge",
        value: 2,
        attributes: { "wegent.device_id": "dev-1" },
      }),
    ]);
    expect(named("wegent.executor.slots")[0]?.value).toBe(5);
    expect(JSON.stringify(r.bodies[0])).toContain('"aggregationTemporality":1');
    expectPrivate(points, r.raw);
  });

  it("is off with no endpoint (or OTEL_METRICS_EXPORTER=none): a no-op, nothing sent", async () => {
    const r = await receiver();
    expect((await startMetrics({}, figures)).enabled).toBe(false);
    expect(metrics().enabled).toBe(false);
    const none = { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_METRICS_EXPORTER: "none" };
    expect((await startMetrics(none, figures)).enabled).toBe(false);
    const trace = measured(NO_MESSAGE_TRACE, metrics(), "claude-code");
    expect(trace).toBe(NO_MESSAGE_TRACE); // not even wrapped
    metrics().reconnect("link_lost", 1006);
    await metrics().shutdown();
    expect(r.paths).toEqual([]);
  });
});

// --- the built CLI, as a user runs it ---------------------------------------------------------

const EXECUTOR_DIR = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(EXECUTOR_DIR, "dist", "cli.js");
let home: string;
beforeAll(() => {
  const build = spawnSync(process.execPath, [join(EXECUTOR_DIR, "build.mjs")], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(build.status, build.stderr).toBe(0);
  home = mkdtempSync(join(tmpdir(), "wegent-metrics-"));
}, 40_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

function startCli(hubUrl: string, otel: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [CLI, "--mode", "local", "--token", TOKEN, "--backend-url", hubUrl, "--max-slots", "3"],
    {
      env: { PATH: process.env.PATH, WEGENT_EXECUTOR_HOME: home, ...otel },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  void exited.then(() => clearTimeout(timer));
  return { child, exited, output: () => output };
}

/** A message that fails on the device before any agent runs (no such project). */
const execute = () => ({
  type: "task:execute" as const,
  taskId: randomUUID(),
  messageId: randomUUID(),
  prompt: PROMPT,
  resumeSessionId: null,
  projectId: "p_nosuchproject",
  runtime: "claude-code" as const,
  permissionMode: "bypassPermissions" as const,
  attempt: 1,
});

async function session(otel: Record<string, string>) {
  const hub = await FakeHub.start();
  const cli = startCli(hub.url, otel);
  try {
    await hub.until(() => hub.framesOf("device:register").length === 1, "register", 10_000);
    hub.send(execute());
    await hub
      .until(() => hub.framesOf("task:failed").length === 1, "task:failed", 10_000)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\n${cli.output()}`);
      });
    hub.cut(); // a network cut: the executor reconnects
    await hub.until(() => hub.framesOf("device:register").length === 2, "re-register", 10_000);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
    return { failed: hub.framesOf("task:failed")[0]!, output: cli.output() };
  } finally {
    cli.child.kill("SIGKILL");
    await hub.stop();
  }
}

describe("the executor process's metrics", () => {
  it("arrive at the receiver from the real CLI: slots, the failure by code, its duration, stream lag, the reconnect", async () => {
    const r = await receiver();
    const run = await session({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc123",
      OTEL_METRIC_EXPORT_INTERVAL: "60000", // the final export at exit carries it all
    });
    expect(run.output).toContain("metrics on");
    const points = r.bodies.filter((_, i) => r.paths[i] === "/v1/metrics").flatMap(pointsOf);
    const named = (name: string) => points.filter((p) => p.name === name);
    expect(named("wegent.executor.slots").at(-1)?.value).toBe(3);
    expect(named("wegent.executor.slots_in_use").at(-1)?.value).toBe(0);
    expect(named("wegent.executor.task.failures").map((p) => p.attributes)).toEqual([
      { "wegent.runtime": "claude-code", "wegent.failure_code": run.failed.code },
    ]);
    expect(named("wegent.executor.task.duration")).toHaveLength(1);
    expect(named("wegent.executor.stream_lag")[0]?.count).toBeGreaterThanOrEqual(1);
    expect(named("wegent.executor.reconnects")).toEqual([
      expect.objectContaining({
        value: 1,
        attributes: { "wegent.reconnect_reason": "link_lost", "wegent.close_code": "1006" },
      }),
    ]);
    expectPrivate(points, r.raw);
  });

  it("sends nothing when no endpoint is set, and no metrics with OTEL_METRICS_EXPORTER=none", async () => {
    const r = await receiver();
    const off = await session({});
    expect(off.output).not.toContain("metrics on");
    expect(r.paths).toEqual([]);
    // The same endpoint live for spans: the spans arrive, no metric does.
    const none = await session({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_METRICS_EXPORTER: "none",
    });
    expect(none.output).not.toContain("metrics on");
    expect(r.paths).toContain("/v1/traces");
    expect(r.paths).not.toContain("/v1/metrics");
  });
});
