// Every REST route fed bad input (never a 500, always the error shape), and another user's
// attempts on every route and socket (always "not found", never a side effect).
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import WebSocket from "ws";
import { ApiError } from "@wegent/protocol";
import { api } from "../../e2e/harness";
import { openLive } from "../../e2e/live-client";
import { ProtocolDevice } from "../lib/device";
import { sleep } from "../lib/stats";
import { createTask, expectThat, type Scenario, taskDetail } from "./context";

interface Probe {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  auth?: boolean;
}

const BAD_BODIES = [
  "{not json",
  "[]",
  "null",
  "42",
  '"text"',
  '{"message": 5}',
  '{"name": {"$gt": ""}}',
  '{"username": "a", "password": 1}',
  `{"message": "${"x".repeat(200_000)}"}`,
  '{"target": {"deviceId": "../../etc"}, "message": "hi"}',
  '{"target": {"deviceId": "benchdevice01", "projectId": "../../etc"}, "message": "hi"}',
  '{"target": {"deviceId": "benchdevice01", "projectId": "p_x"}, "continueSessionId": "../../../etc/passwd", "message": "hi"}',
  '{"continueSessionId": "6f1c2d3e-0000-4000-8000-000000000001", "message": "hi"}',
  '{"days": -1, "name": "t", "scope": "root"}',
  '{"name": "\\u0000"}',
  "\u0000\u0001\u0002",
];

function probes(): Probe[] {
  const bad = ["not-a-uuid", "%00", "..%2F..", "x".repeat(300), randomUUID()];
  const list: Probe[] = [];
  for (const body of BAD_BODIES) {
    for (const path of ["/api/auth/signup", "/api/auth/login", "/api/tokens", "/api/tasks"]) {
      list.push({ method: "POST", path, body, auth: path !== "/api/auth/signup" });
    }
    list.push({ method: "PATCH", path: "/api/devices/benchdevice01", body, auth: true });
    list.push({ method: "POST", path: `/api/tasks/${randomUUID()}/messages`, body, auth: true });
  }
  for (const id of bad) {
    const e = encodeURIComponent(id);
    list.push(
      { method: "GET", path: `/api/devices/${e}`, auth: true },
      { method: "GET", path: `/api/devices/${e}/sessions`, auth: true },
      { method: "GET", path: `/api/devices/benchdevice01/sessions?projectId=${e}`, auth: true },
      { method: "GET", path: `/api/devices/benchdevice01/sessions/${e}`, auth: true },
      { method: "PUT", path: `/api/devices/${e}/default`, auth: true },
      { method: "DELETE", path: `/api/devices/${e}/default`, auth: true },
      { method: "DELETE", path: `/api/devices/${e}?force=maybe`, auth: true },
      { method: "DELETE", path: `/api/tokens/${e}`, auth: true },
      { method: "GET", path: `/api/tasks/${e}`, auth: true },
      { method: "DELETE", path: `/api/tasks/${e}`, auth: true },
      { method: "POST", path: `/api/tasks/${e}/cancel`, auth: true },
      { method: "POST", path: `/api/tasks/${e}/messages`, body: '{"message":"hi"}', auth: true },
      { method: "GET", path: `/api/tasks/${e}/events`, auth: true },
    );
  }
  list.push(
    { method: "GET", path: "/api/tasks?limit=abc", auth: true },
    { method: "GET", path: "/api/tasks?limit=-5", auth: true },
    { method: "GET", path: "/api/tasks?limit=1000000", auth: true },
    { method: "GET", path: "/api/tasks?cursor=nopipe", auth: true },
    { method: "GET", path: `/api/tasks?cursor=${"|".repeat(300)}`, auth: true },
    {
      method: "GET",
      path: `/api/tasks/${randomUUID()}/events`,
      headers: { "Last-Event-ID": "-1; drop" },
      auth: true,
    },
    { method: "GET", path: `/api/tasks/${randomUUID()}/events?after=x`, auth: true },
    { method: "GET", path: "/api/live", auth: true },
    { method: "GET", path: "/api/live?after=abc", headers: { Upgrade: "websocket" }, auth: true },
    { method: "GET", path: "/api/devices/connect" },
    { method: "GET", path: "/api/devices/connect", headers: { Upgrade: "websocket" } },
    {
      method: "GET",
      path: "/api/devices/connect",
      headers: { Upgrade: "websocket", Authorization: "Bearer", "X-Device-Id": "benchdevice01" },
    },
    {
      method: "GET",
      path: "/api/devices/connect",
      headers: { Upgrade: "websocket", Authorization: "Bearer a.b.c", "X-Device-Id": "x" },
    },
    {
      method: "GET",
      path: "/api/devices/connect",
      headers: { Upgrade: "websocket", Authorization: "Basic Zm9vOmJhcg==" },
    },
    { method: "GET", path: "/api/auth/me" },
    { method: "GET", path: "/api/auth/me", headers: { Cookie: "wegent_session=garbage" } },
    {
      method: "GET",
      path: "/api/auth/me",
      headers: { Authorization: "Bearer " + "A".repeat(9000) },
    },
    { method: "POST", path: "/api/auth/logout", headers: { Cookie: "wegent_session=a.b.c" } },
    { method: "GET", path: "/api/tokens", headers: { Authorization: "Bearer x" } },
    { method: "GET", path: "/api/tasks" },
    { method: "GET", path: "/api/devices" },
    { method: "PUT", path: "/api/tasks", auth: true },
    { method: "DELETE", path: "/api/devices", auth: true },
    { method: "GET", path: "/api/nope", auth: true },
    {
      method: "POST",
      path: "/api/tasks",
      body: '{"message":"hi"}',
      headers: { "Content-Type": "text/plain" },
      auth: true,
    },
  );
  return list;
}

/** One raw HTTP request (node:http, so WebSocket upgrade headers can be sent as they are). */
function send(origin: string, p: Probe, headers: Record<string, string>) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${origin}${p.path}`, { method: p.method, headers, timeout: 15_000 });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, text: "" });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(p.body);
  });
}

/** Feeds every route bad input; returns the probes count and a histogram of statuses. */
export async function badInputEverywhere(origin: string, cookie: string) {
  const counts = new Map<number, number>();
  const failures: string[] = [];
  for (const p of probes()) {
    const headers: Record<string, string> = { "Content-Type": "application/json", ...p.headers };
    if (p.auth) headers.Cookie = cookie;
    const label = `${p.method} ${p.path.slice(0, 60)} ${p.body?.slice(0, 30) ?? ""}`;
    let answer: { status: number; text: string };
    try {
      answer = await send(origin, p, headers);
    } catch (error) {
      failures.push(`${label}: ${String(error)}`);
      continue;
    }
    const { status, text } = answer;
    counts.set(status, (counts.get(status) ?? 0) + 1);
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    const shaped = ApiError.safeParse(parsed);
    // 503 no_cloud_capacity is the designed answer to a valid message with nowhere to run.
    const designed503 = status === 503 && shaped.data?.error.code === "no_cloud_capacity";
    if (status >= 500 && !designed503) failures.push(`${label} → ${status} ${text.slice(0, 120)}`);
    else if (status >= 400 && !shaped.success)
      failures.push(`${label} → ${status} without the error shape: ${text.slice(0, 80)}`);
    else if (status === 101) failures.push(`${label} → 101: a bad upgrade was accepted`);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const histogram = [...counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${s}×${n}`)
    .join(" ");
  return { total, histogram, failures };
}

export const badInput: Scenario = {
  name: "every REST route fed bad input",
  async run(ctx) {
    const user = await ctx.newUser();
    const r = await badInputEverywhere(ctx.platform.origin, user.session.cookie);
    expectThat(
      r.failures.length === 0,
      `${r.failures.length} bad answers:\n    ${r.failures.slice(0, 10).join("\n    ")}`,
    );
    return `${r.total} requests, no 5xx, all errors shaped {error:{code,message}} (${r.histogram})`;
  },
};

export const crossUser: Scenario = {
  name: "cross-user attempts on every route and socket",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const alice = await ctx.newUser();
    const mallory = await ctx.newUser();
    const device = new ProtocolDevice({ origin, token: alice.token, maxSlots: 2 });
    await device.connect();
    await device.register();
    ctx.cleanups.push(() => device.close());
    const { taskId, messageId } = await createTask(
      origin,
      alice,
      "alice's secret",
      device.deviceId,
    );
    await device.waitFor((f) => f.type === "task:execute" && f.messageId === messageId);
    const malloryLive = await openLive(origin, mallory.session.cookie);
    ctx.cleanups.push(() => malloryLive.close());

    const m = { cookie: mallory.session.cookie };
    const tokenM = { token: mallory.token };
    const attempts: [string, string, unknown?, { token: string }?][] = [
      ["GET", `/api/tasks/${taskId}`],
      ["GET", `/api/tasks/${taskId}`, undefined, tokenM],
      ["POST", `/api/tasks/${taskId}/messages`, { message: "hijack" }],
      ["POST", `/api/tasks/${taskId}/cancel`],
      ["GET", `/api/tasks/${taskId}/events`],
      ["DELETE", `/api/tasks/${taskId}`],
      ["GET", `/api/devices/${device.deviceId}`],
      ["PATCH", `/api/devices/${device.deviceId}`, { name: "pwned" }],
      ["PUT", `/api/devices/${device.deviceId}/default`],
      ["DELETE", `/api/devices/${device.deviceId}/default`],
      ["DELETE", `/api/devices/${device.deviceId}?force=true`],
      ["GET", `/api/devices/${device.deviceId}/sessions`],
      ["GET", `/api/devices/${device.deviceId}/sessions/6f1c2d3e-0000-4000-8000-000000000001`],
      ["DELETE", `/api/tokens/${alice.tokenId}`],
      ["POST", "/api/tasks", { message: "run on alice", target: { deviceId: device.deviceId } }],
    ];
    const wrong: string[] = [];
    for (const [method, path, body, auth] of attempts) {
      const res = await api(origin, method, path, { ...(auth ?? m), body });
      if (res.status !== 404) wrong.push(`${method} ${path} → ${res.status}`);
    }
    const list = await api<{ tasks: unknown[] }>(origin, "GET", "/api/tasks", m);
    if (list.body.tasks.length !== 0) wrong.push(`mallory lists ${list.body.tasks.length} tasks`);
    const devs = await api<{ devices: unknown[] }>(origin, "GET", "/api/devices", m);
    if (devs.body.devices.length !== 0)
      wrong.push(`mallory lists ${devs.body.devices.length} devices`);

    // Sockets: Mallory's token with Alice's device id opens Mallory's own hub, not Alice's.
    const impostor = new ProtocolDevice({
      origin,
      token: mallory.token,
      deviceId: device.deviceId,
    });
    await impostor.connect();
    await impostor.register();
    await sleep(500);
    if (!device.open)
      wrong.push(`alice's socket closed (${device.closeCode}) by mallory's connect`);
    if (impostor.frames.some((f) => f.type === "task:execute"))
      wrong.push("mallory's socket received alice's task");
    impostor.close();
    // A forged identity header is not trusted: the hub only believes the Worker.
    const forged = new WebSocket(`${origin.replace(/^http/, "ws")}/api/devices/connect`, {
      headers: {
        Authorization: `Bearer ${mallory.token}`,
        "X-Device-Id": "forgeddevice01",
        "X-Wegent-Owner": alice.session.userId,
      },
    });
    await new Promise<void>((resolve) => {
      forged.once("open", () => resolve());
      forged.once("error", () => resolve());
    });
    forged.send(
      JSON.stringify({
        type: "device:register",
        deviceId: "forgeddevice01",
        name: "forged",
        platform: "linux",
        executorVersion: "0",
        maxSlots: 1,
        deviceType: "local",
        runtimes: [],
        runningTaskIds: [],
      }),
    );
    await sleep(500);
    forged.close();
    const aliceDevs = await api<{ devices: { id: string }[] }>(origin, "GET", "/api/devices", {
      cookie: alice.session.cookie,
    });
    if (aliceDevs.body.devices.some((d) => d.id === "forgeddevice01"))
      wrong.push("a forged X-Wegent-Owner header registered a device for alice");
    // Mallory's live channel with Alice's liveSeqs: nothing of Alice's arrives.
    const aliceBefore = (await taskDetail(origin, alice, taskId)).messages.length;
    device.send({
      type: "task:progress",
      taskId,
      messageId,
      seq: 1,
      event: { kind: "text", offset: 0, delta: "secret" },
    });
    device.send({
      type: "task:complete",
      taskId,
      messageId,
      seq: 2,
      text: "secret",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    await device.waitFor((f) => f.type === "task:ack" && f.seq === 2);
    await sleep(300);
    const leaked = malloryLive.frames.filter((f) => JSON.stringify(f).includes(taskId));
    if (leaked.length) wrong.push(`mallory's live channel got ${leaked.length} of alice's frames`);
    const after = await taskDetail(origin, alice, taskId);
    if (after.messages.length !== aliceBefore) wrong.push("alice's task gained messages");
    if (after.task.status !== "completed") wrong.push(`alice's task is ${after.task.status}`);
    const aliceDevice = await api<{ device: { name: string; isDefault: boolean } }>(
      origin,
      "GET",
      `/api/devices/${device.deviceId}`,
      { cookie: alice.session.cookie },
    );
    if (aliceDevice.body.device.name === "pwned") wrong.push("mallory renamed alice's device");
    expectThat(wrong.length === 0, wrong.join("; "));
    return `${attempts.length} REST attempts → 404, 2 socket attempts isolated, live channel clean`;
  },
};
