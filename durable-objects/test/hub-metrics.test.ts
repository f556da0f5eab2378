import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otelConfig, TRACE_ATTRIBUTES } from "@wegent/protocol";
import { Slots } from "../device-hub/slots";
import { HubMetrics } from "../../edge/telemetry/metrics";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { registeredHub } from "./node-sql";
import { WriteBehind } from "../device-hub/write-behind";

// Presence takes the Worker's `Env` (a workerd type this Node project does not have), so it is
// imported by a path the type checker does not follow; its D1 writes are not reached here.
interface PresenceLike {
  socketGone(reason: string): Promise<boolean>;
  graceExpired(): Promise<void>;
}
type PresenceClass = new (...args: unknown[]) => PresenceLike;
const PRESENCE: string = "../device-hub/presence";

// The DeviceHub's metrics, on Node with a real SQLite, exported over real HTTP to a loopback
// OTLP receiver (as e2e/otlp-receiver.ts, which this layer may not import): slots in use and queue length as gauges, each message's duration and time to
// first token as histograms, failures by code; only allow-listed attributes; none when unset.

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
  const out: Point[] = [];
  type Dp = Record<string, unknown> & { attributes?: KV[] };
  type Metric = { name: string } & Record<string, { dataPoints?: Dp[] } | string | undefined>;
  const b = body as { resourceMetrics?: { scopeMetrics?: { metrics?: Metric[] }[] }[] };
  for (const rm of b.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        for (const kind of ["gauge", "sum", "histogram"]) {
          const data = m[kind];
          const dataPoints = typeof data === "object" ? (data.dataPoints ?? []) : [];
          for (const dp of dataPoints) {
            out.push({
              name: String(m.name),
              kind,
              attributes: attrs(dp.attributes),
              value: Number(dp.asInt ?? dp.sum ?? dp.asDouble),
              ...(dp.count !== undefined ? { count: Number(dp.count) } : {}),
            });
          }
        }
      }
    }
  }
  return out;
}

interface Received {
  path: string;
  body: unknown;
}
const receiver = { endpoint: "", exports: [] as Received[], server: null as Server | null };
beforeAll(async () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      receiver.exports.push({
        path: req.url ?? "",
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.server = server;
  receiver.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => receiver.server?.close(() => resolve())));

function setup(env: Record<string, string>) {
  const { store, output } = registeredHub(1, true);
  const work: Promise<unknown>[] = [];
  const metrics = new HubMetrics(otelConfig(env, "wegent-edge"), (p) => work.push(p));
  const slots = new Slots(store, output, {
    executor: () => ({ send: () => undefined }),
    setMessageStatus: () => undefined,
    messageTaken: () => undefined,
    finishMessage: async () => undefined,
    push: () => undefined,
    publishStatus: () => undefined,
    messageEnded: () => undefined,
    metrics,
  });
  return { slots, store, settle: () => Promise.all(work) };
}

const submit = (slots: Slots, n: number) =>
  slots.submit({
    taskId: `task-${n}`,
    messageId: `msg-${n}`,
    ownerId: "owner",
    prompt: "a prompt that must never be a metric",
    resumeSessionId: null,
    projectId: null,
    permissionMode: "default",
  });

describe("DeviceHub metrics", () => {
  it("arrive at the OTLP receiver: slots in use, queue length, task duration, first token, failures", async () => {
    const s = setup({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    await submit(s.slots, 1);
    await submit(s.slots, 2); // one slot: this one queues
    await s.slots.receive({
      type: "task:progress",
      taskId: "task-1",
      messageId: "msg-1",
      seq: 1,
      event: { kind: "text", offset: 0, delta: "a reply that must never be a metric" },
    });
    await s.slots.receive({
      type: "task:complete",
      taskId: "task-1",
      messageId: "msg-1",
      seq: 2,
      text: "a reply that must never be a metric",
      sessionId: "s1",
      usage: null,
      costUsd: null,
    });
    await s.slots.receive({
      type: "task:failed",
      taskId: "task-2",
      messageId: "msg-2",
      seq: 1,
      code: "agent_error",
      message: "no",
      text: "",
      sessionId: null,
    });
    await s.settle();
    const metricExports = receiver.exports.filter((e) => e.path === "/v1/metrics");
    expect(metricExports.length).toBeGreaterThan(0);
    const points = metricExports.flatMap((e) => pointsOf(e.body));
    const named = (name: string) => points.filter((p) => p.name === name);
    const slotsInUse = named("wegent.device.slots_in_use").map((p) => p.value);
    expect(slotsInUse).toContain(1);
    expect(slotsInUse.at(-1)).toBe(0);
    expect(named("wegent.device.queue_length").map((p) => p.value)).toContain(1);
    expect(named("wegent.device.online").at(-1)?.value).toBe(1);
    const durations = named("wegent.task.duration");
    expect(durations).toHaveLength(2);
    expect(durations.every((p) => p.kind === "histogram" && p.count === 1)).toBe(true);
    expect(durations.map((p) => p.attributes["wegent.status"]).sort()).toEqual([
      "completed",
      "failed",
    ]);
    expect(named("wegent.task.time_to_first_token")).toHaveLength(1);
    expect(named("wegent.task.failures")).toEqual([
      expect.objectContaining({
        kind: "sum",
        value: 1,
        attributes: { "wegent.failure_code": "agent_error" },
      }),
    ]);
    // The privacy rule holds for metrics too.
    for (const p of points) {
      for (const [key, value] of Object.entries(p.attributes)) {
        expect(key in TRACE_ATTRIBUTES, key).toBe(true);
        expect(String(value)).not.toContain("never be a metric");
      }
    }
    expect(JSON.stringify(metricExports.map((e) => e.body))).not.toContain("never be a metric");
  });

  it("sends nothing when no endpoint is set", async () => {
    const before = receiver.exports.length;
    const s = setup({});
    await submit(s.slots, 1);
    await s.settle();
    expect(receiver.exports.length).toBe(before);
  });

  it("sends the presence gauges when the device goes reconnecting and then offline, with no message event", async () => {
    const s = setup({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    // Never registered on this hub's D1 (no platform): the D1 write of the figures is skipped,
    // the metrics are not.
    s.store.setMeta({ platform: "" });
    const { Presence } = (await import(PRESENCE)) as { Presence: PresenceClass };
    const live = { push: () => undefined };
    const presence = new Presence({}, s.store, s.slots, live, new WriteBehind(() => undefined));
    const before = receiver.exports.length;
    await presence.socketGone("closed");
    await s.settle();
    const afterGone = receiver.exports.slice(before).flatMap((e) => pointsOf(e.body));
    expect(afterGone.filter((p) => p.name === "wegent.device.online").map((p) => p.value)).toEqual([
      0,
    ]);
    expect(afterGone.map((p) => p.attributes["wegent.device_id"])).toContain("dev-1");
    const mid = receiver.exports.length;
    await presence.graceExpired();
    await s.settle();
    const afterGrace = receiver.exports.slice(mid).flatMap((e) => pointsOf(e.body));
    expect(afterGrace.filter((p) => p.name === "wegent.device.online").map((p) => p.value)).toEqual(
      [0],
    );
    expect(afterGrace.find((p) => p.name === "wegent.device.slots_in_use")?.value).toBe(0);
  });
});
