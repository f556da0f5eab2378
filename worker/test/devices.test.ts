import {
  env,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CloseCode, type HubFrame } from "@wegent/protocol";
import { deviceHub } from "../../durable-objects/contract";
import type { HubStore } from "../../durable-objects/device-hub/store";
import { call, createToken, expectError, signUp } from "./helpers";
import {
  eventually,
  newDeviceId,
  openDevice,
  openLive,
  registerDevice,
  reply,
  textFrame,
} from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

async function setup() {
  const user = await signUp();
  const { token, id: tokenId } = await createToken(user);
  return { user, token, tokenId };
}

async function deviceRow(ownerId: string, deviceId: string) {
  return env.DB.prepare("SELECT * FROM devices WHERE owner_id = ? AND device_id = ?")
    .bind(ownerId, deviceId)
    .first<Record<string, unknown>>();
}

describe("connecting a device", () => {
  it("never upgrades without a valid token, and says why", async () => {
    const { user, token, tokenId } = await setup();
    const id = newDeviceId();
    const none = await openDevice(null, id);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: "unauthorized" } });
    const bad = await openDevice("not.a.token", id);
    expect(bad.body).toMatchObject({ error: { code: "invalid_token" } });
    const badId = await openDevice(token, "x");
    expect(badId.status).toBe(400);
    expect(badId.body).toMatchObject({ error: { code: "invalid_device_id" } });
    expectError(await call("GET", "/api/devices/connect", { token }), 426, "upgrade_required");

    await call("DELETE", `/api/tokens/${tokenId}`, { cookie: user.cookie });
    const revoked = await openDevice(token, id);
    expect(revoked.status).toBe(401);
    expect(revoked.body).toMatchObject({ error: { code: "token_revoked" } });
  });

  it("registers: listed online with 0/5 slots, the first device becomes the default", async () => {
    const { user, token } = await setup();
    const first = newDeviceId();
    const second = newDeviceId();
    const a = await registerDevice(token, first, { name: "Darwin - MacBook-Pro.local" });
    expect(a.registered).toMatchObject({
      deviceId: first,
      name: "Darwin - MacBook-Pro.local",
      resume: [],
    });
    expect(a.registered.tokenExpiresAt).not.toBeNull();
    await registerDevice(token, second);
    const list = await call("GET", "/api/devices", { cookie: user.cookie });
    expect(list.status).toBe(200);
    const devices = (list.body as { devices: Record<string, unknown>[] }).devices;
    expect(devices).toHaveLength(2);
    const byId = Object.fromEntries(devices.map((d) => [d.id, d]));
    expect(byId[first]).toMatchObject({
      status: "online",
      slotsUsed: 0,
      maxSlots: 5,
      queueLength: 0,
      isDefault: true,
      type: "local",
      platform: "linux-x64",
      version: "0.1.0",
    });
    expect(byId[second]).toMatchObject({ isDefault: false });
    const one = await call("GET", `/api/devices/${first}`, { cookie: user.cookie });
    expect(one.body).toMatchObject({ device: { id: first, name: "Darwin - MacBook-Pro.local" } });
  });

  it("lists the sandbox an executor reports (no network, limits, what could not be applied)", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const sandbox = {
      network: "none",
      limits: ["processes 1024 per task uid (RLIMIT_NPROC)", "/tmp 1.0 GiB (tmpfs size)"],
      notApplied: ["memory per task (only per process): no cgroup v2 hierarchy at /sys/fs/cgroup"],
    };
    await registerDevice(token, id, { extra: { sandbox } });
    const plain = newDeviceId();
    await registerDevice(token, plain);
    const list = await call("GET", "/api/devices", { cookie: user.cookie });
    const devices = (list.body as { devices: Record<string, unknown>[] }).devices;
    const byId = Object.fromEntries(devices.map((d) => [d.id, d]));
    expect(byId[id]?.sandbox).toEqual(sandbox);
    expect(byId[plain]?.sandbox).toBeNull();
  });

  it("lists what the device found of its runtime, and a change a heartbeat carries", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const runtime = {
      id: "claude-code",
      version: "2.1.330",
      auth: { kind: "keychain_login", label: "Claude Code login (macOS Keychain)" },
      models: [],
      commands: [],
      problem: null,
    };
    const { socket } = await registerDevice(token, id, { extra: { runtimeInfo: [runtime] } });
    const listed = async () =>
      (
        (await call("GET", "/api/devices", { cookie: user.cookie })).body as {
          devices: { id: string; runtimes: unknown[]; costTodayUsd: number | null }[];
        }
      ).devices.find((d) => d.id === id)!;
    expect((await listed()).runtimes).toEqual([runtime]);
    expect((await listed()).costTodayUsd).toBe(0);
    // Root without IS_SANDBOX=1: the device needs attention until it can run.
    const problem = { code: "agent_error", message: "export IS_SANDBOX=1" };
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      runtimeInfo: [{ ...runtime, auth: { kind: "none", label: "No model credentials" }, problem }],
    });
    const changed = [
      { ...runtime, auth: { kind: "none", label: "No model credentials" }, problem },
    ];
    await eventually(
      async () => JSON.stringify((await listed()).runtimes) === JSON.stringify(changed),
    );
    // A heartbeat without it changes nothing; a malformed one is refused.
    socket.send({ type: "device:heartbeat", runningTaskIds: [] });
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      runtimeInfo: [{ ...runtime, auth: { kind: "stolen", label: "x" } }],
    });
    expect(await socket.next("error")).toMatchObject({ type: "error" });
    expect((await listed()).runtimes[0]).toMatchObject({ problem });
  });

  it("sums what the device's messages cost today", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    for (const cost of [0.25, 0.5]) {
      const res = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "cost", target: { deviceId: id } },
      });
      const taskId = (res.body as { task: { id: string } }).task.id;
      const e = (await socket.next("task:execute")) as Execute;
      socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
      socket.send({
        type: "task:complete",
        taskId,
        messageId: e.messageId,
        seq: 1,
        text: "ok",
        sessionId: null,
        usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 },
        costUsd: cost,
      });
      await socket.next("task:ack", (f) => f.type === "task:ack" && f.messageId === e.messageId);
    }
    const body = (await call("GET", "/api/devices", { cookie: user.cookie })).body as {
      devices: { id: string; costTodayUsd: number }[];
    };
    expect(body.devices.find((d) => d.id === id)?.costTodayUsd).toBeCloseTo(0.75);
    // Another user sees none of it.
    const other = await setup();
    const theirs = (await call("GET", "/api/devices", { cookie: other.user.cookie })).body as {
      devices: unknown[];
    };
    expect(theirs.devices).toEqual([]);
  });

  it("pushes status changes to the owner's live channel at once", async () => {
    const { user, token } = await setup();
    const live = await openLive(user.cookie);
    await live.next("live:hello");
    const id = newDeviceId();
    const started = Date.now();
    const { socket } = await registerDevice(token, id);
    const online = await live.next(
      "device:status",
      (f) => f.type === "device:status" && f.device.id === id,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(online).toMatchObject({ device: { status: "online" } });
    socket.close();
    const reconnecting = await live.next(
      "device:status",
      (f) => f.type === "device:status" && f.device.status === "reconnecting",
    );
    expect(reconnecting).toMatchObject({ device: { id } });
  });

  it("answers malformed, oversized and unknown frames with error frames, and closes on abuse", async () => {
    const { token } = await setup();
    const id = newDeviceId();
    const { socket } = await openDevice(token, id);
    const s = socket!;
    s.send({ type: "device:heartbeat", runningTaskIds: [] });
    expect(await s.next("error")).toMatchObject({ code: "not_registered" });
    s.sendRaw("{nope");
    expect(await s.next("error")).toMatchObject({ code: "bad_json" });
    s.send({ type: "device:explode" });
    expect(await s.next("error")).toMatchObject({ code: "bad_frame" });
    s.send({ type: "device:register", deviceId: id, name: "x".repeat(300) });
    expect(await s.next("error")).toMatchObject({ code: "bad_frame" });
    s.sendRaw("x".repeat(1024 * 1024 + 10));
    expect(await s.next("error")).toMatchObject({ code: "frame_too_large" });
    for (let i = 0; i < 7; i++) s.sendRaw("[]");
    await eventually(() => s.closed, 5000, "abuse close");
    expect(s.closed?.code).toBe(CloseCode.protocolAbuse);
    // The hub is fine: a well-behaved executor registers right after.
    const again = await registerDevice(token, id);
    expect(again.registered.deviceId).toBe(id);
  });

  it("lets a second connection with the same device id replace the first: one receiver only", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const first = await registerDevice(token, id);
    const second = await registerDevice(token, id);
    await eventually(() => first.socket.closed, 5000, "replaced close");
    expect(first.socket.closed?.code).toBe(CloseCode.replaced);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "hi", target: { deviceId: id } },
    });
    expect(res.status).toBe(201);
    await second.socket.next("task:execute");
    expect(first.socket.frames.filter((f) => f.type === "task:execute")).toHaveLength(0);
  });
});

describe("slots, queue and dispatch", () => {
  it("runs 5 of 7 tasks, queues 2 in order with positions, then runs them as slots free", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const created: {
      taskId: string;
      messageId: string;
      status: string;
      position: number | null;
    }[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: `task ${i}`, target: { deviceId: id } },
      });
      expect(res.status).toBe(201);
      const body = res.body as {
        task: { id: string };
        messages: { id: string; role: string; status: string; queuePosition: number | null }[];
      };
      const assistant = body.messages.find((m) => m.role === "assistant")!;
      created.push({
        taskId: body.task.id,
        messageId: assistant.id,
        status: assistant.status,
        position: assistant.queuePosition,
      });
    }
    expect(created.map((c) => c.status)).toEqual([
      "running",
      "running",
      "running",
      "running",
      "running",
      "queued",
      "queued",
    ]);
    expect(created.slice(5).map((c) => c.position)).toEqual([1, 2]);
    // Dispatch re-sends (attempt 2) come after 1 s in tests; a loaded machine can see them, and
    // they are not new dispatches.
    const firstSend = (f: unknown) => (f as Execute).attempt === 1;
    const executes: Execute[] = [];
    for (let i = 0; i < 5; i++) {
      executes.push((await socket.next("task:execute", firstSend)) as Execute);
    }
    expect(new Set(executes.map((e) => e.messageId))).toEqual(
      new Set(created.slice(0, 5).map((c) => c.messageId)),
    );
    expect((await call("GET", `/api/devices/${id}`, { cookie: user.cookie })).body).toMatchObject({
      device: { status: "busy", slotsUsed: 5, queueLength: 2 },
    });

    // Each completion frees a slot, and the head of the queue starts at once.
    const finish = (e: Execute) => reply(socket, e, "done ", "s1");
    await finish(executes[0]!);
    const sixth = (await socket.next("task:execute", firstSend)) as Execute;
    expect(sixth.messageId).toBe(created[5]!.messageId);
    for (const e of executes.slice(1)) await finish(e);
    const seventh = (await socket.next("task:execute", firstSend)) as Execute;
    expect(seventh.messageId).toBe(created[6]!.messageId);
    await finish(sixth);
    await finish(seventh);
    for (const c of created) {
      const task = await call("GET", `/api/tasks/${c.taskId}`, { cookie: user.cookie });
      expect(task.body).toMatchObject({ task: { status: "completed" } });
    }
    expect((await call("GET", `/api/devices/${id}`, { cookie: user.cookie })).body).toMatchObject({
      device: { status: "online", slotsUsed: 0, queueLength: 0 },
    });
  });

  it("stores progress in order, acks by sequence, ignores duplicates and flags gaps", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "stream", target: { deviceId: id } },
    });
    const taskId = (res.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    const text = (seq: number, offset: number, delta: string) => textFrame(e, seq, offset, delta);
    socket.send(text(1, 0, "Hello"));
    socket.send(text(1, 0, "Hello"));
    socket.send(text(3, 11, "!"));
    expect(await socket.next("error")).toMatchObject({ code: "out_of_order" });
    socket.send(text(2, 5, ", world"));
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 2);
    const partial = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
    const assistant = (
      partial.body as { messages: { role: string; content: string; status: string }[] }
    ).messages.find((m) => m.role === "assistant");
    expect(assistant).toMatchObject({ content: "Hello, world", status: "running" });
    socket.send({
      type: "task:complete",
      taskId,
      messageId: e.messageId,
      seq: 3,
      text: "Hello, world",
      sessionId: "sess-1",
      usage: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0 },
      costUsd: 0.001,
    });
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 3);
    const row = await env.DB.prepare(
      "SELECT content, status, session_id, cost_usd FROM messages WHERE id = ?",
    )
      .bind(e.messageId)
      .first();
    expect(row).toMatchObject({
      content: "Hello, world",
      status: "completed",
      session_id: "sess-1",
      cost_usd: 0.001,
    });
  });

  it("re-sends an unaccepted task once, then fails it with dispatch_timeout", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "anyone?", target: { deviceId: id } },
    });
    const taskId = (res.body as { task: { id: string } }).task.id;
    expect(((await socket.next("task:execute")) as Execute).attempt).toBe(1);
    expect(((await socket.next("task:execute", undefined, 5000)) as Execute).attempt).toBe(2);
    await eventually(
      async () => {
        const t = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
        const m = (
          t.body as { messages: { role: string; errorCode: string | null }[] }
        ).messages.find((x) => x.role === "assistant");
        return m?.errorCode === "dispatch_timeout";
      },
      6000,
      "dispatch_timeout",
    );
    expect((await deviceRow(user.id, id))?.slots_used).toBe(0);
  });

  it("refuses a task for an offline device with 409 device_offline naming it", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id, { name: "Linux - buildbox" });
    socket.close();
    await eventually(
      async () => (await deviceRow(user.id, id))?.status === "offline",
      5000,
      "offline",
    );
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "hi", target: { deviceId: id } },
    });
    expectError(res, 409, "device_offline");
    expect(JSON.stringify(res.body)).toContain("Linux - buildbox");
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM tasks WHERE owner_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });
});

describe("presence", () => {
  it("fails running tasks with device_disconnected when the grace expires, and frees the slots", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id, { name: "Linux - laptop" });
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "long job", target: { deviceId: id } },
    });
    const taskId = (res.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    socket.send(textFrame(e, 1, 0, "partial"));
    await socket.next("task:ack");
    socket.close();
    await eventually(
      async () => (await deviceRow(user.id, id))?.status === "reconnecting",
      3000,
      "reconnecting",
    );
    await eventually(
      async () => (await deviceRow(user.id, id))?.status === "offline",
      5000,
      "offline",
    );
    const t = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
    const m = (t.body as { messages: Record<string, unknown>[] }).messages.find(
      (x) => x.role === "assistant",
    );
    expect(m).toMatchObject({
      status: "failed",
      errorCode: "device_disconnected",
      errorMessage: "Device Linux - laptop disconnected.",
      content: "partial",
    });
    expect((await deviceRow(user.id, id))?.slots_used).toBe(0);
  });

  it("loses and duplicates nothing across a reconnect within the grace", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const first = await registerDevice(token, id);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "go", target: { deviceId: id } },
    });
    const taskId = (res.body as { task: { id: string } }).task.id;
    const e = (await first.socket.next("task:execute")) as Execute;
    const frame = (seq: number, offset: number, delta: string) => textFrame(e, seq, offset, delta);
    first.socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    first.socket.send(frame(1, 0, "one "));
    first.socket.send(frame(2, 4, "two "));
    await first.socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 2);
    first.socket.close();
    // The executor buffered "three " while down; it comes back within the grace.
    const second = await registerDevice(token, id, { runningTaskIds: [taskId] });
    expect(second.registered.resume).toEqual([{ taskId, messageId: e.messageId, lastSeq: 2 }]);
    second.socket.send(frame(2, 4, "two ")); // an over-eager re-send
    second.socket.send(frame(3, 8, "three "));
    second.socket.send({
      type: "task:complete",
      taskId,
      messageId: e.messageId,
      seq: 4,
      text: "one two three ",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    await second.socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 4);
    const row = await env.DB.prepare("SELECT content, status FROM messages WHERE id = ?")
      .bind(e.messageId)
      .first();
    expect(row).toEqual({ content: "one two three ", status: "completed" });
  });

  it("reconciles heartbeats: unreported running tasks fail lost_on_device, unknown ones are cancelled", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "x", target: { deviceId: id } },
    });
    const taskId = (res.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    const stranger = crypto.randomUUID();
    socket.send({ type: "device:heartbeat", runningTaskIds: [stranger] });
    expect(await socket.next("task:cancel")).toMatchObject({ taskId: stranger, messageId: null });
    await eventually(
      async () => {
        const row = await env.DB.prepare("SELECT error_code FROM messages WHERE id = ?")
          .bind(e.messageId)
          .first<{ error_code: string | null }>();
        return row?.error_code === "lost_on_device";
      },
      3000,
      "lost_on_device",
    );
  });

  it("declares a silent socket lost after the ping timeout, through the one alarm", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const stub = deviceHub(env, user.id, id);
    // Pretend the last sign of life was 30 s ago.
    await runInDurableObject(stub, async (instance, state) => {
      for (const ws of state.getWebSockets("executor")) {
        const att = ws.deserializeAttachment() as { connectedAt: number };
        ws.serializeAttachment({ ...att, connectedAt: Date.now() - 30_000 });
      }
      const hub = instance as unknown as { store: HubStore; lastFrameAt: number };
      hub.store.setMeta({ lastSeenAt: Date.now() - 30_000 });
      hub.lastFrameAt = Date.now() - 30_000;
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await eventually(() => socket.closed, 3000, "close");
    expect(socket.closed?.code).toBe(CloseCode.pingTimeout);
    expect((await deviceRow(user.id, id))?.status).toBe("reconnecting");
  });

  it("keeps slots and queue across eviction of the object", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id, { maxSlots: 1 });
    const a = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "a", target: { deviceId: id } },
    });
    const b = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "b", target: { deviceId: id } },
    });
    expect(
      (b.body as { messages: { role: string; status: string }[] }).messages.find(
        (m) => m.role === "assistant",
      )?.status,
    ).toBe("queued");
    const e = (await socket.next("task:execute")) as Execute;
    await evictDurableObject(deviceHub(env, user.id, id), { webSockets: "hibernate" });
    socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
    socket.send({
      type: "task:complete",
      taskId: e.taskId,
      messageId: e.messageId,
      seq: 1,
      text: "ok",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    const next = (await socket.next("task:execute")) as Execute;
    expect(next.taskId).toBe((b.body as { task: { id: string } }).task.id);
    expect((a.body as { task: { id: string } }).task.id).toBe(e.taskId);
  });
});

describe("cancel", () => {
  it("removes a queued task at once and asks the device to stop a running one", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id, { maxSlots: 1 });
    const running = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "a", target: { deviceId: id } },
    });
    const queued = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "b", target: { deviceId: id } },
    });
    const runningId = (running.body as { task: { id: string } }).task.id;
    const queuedId = (queued.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });

    const q = await call("POST", `/api/tasks/${queuedId}/cancel`, { cookie: user.cookie });
    expect(q.body).toMatchObject({ task: { status: "cancelled" } });

    const r = await call("POST", `/api/tasks/${runningId}/cancel`, { cookie: user.cookie });
    expect(r.body).toMatchObject({ task: { status: "cancelling" } });
    expect(await socket.next("task:cancel")).toMatchObject({
      taskId: runningId,
      messageId: e.messageId,
    });
    socket.send({
      type: "task:failed",
      taskId: runningId,
      messageId: e.messageId,
      seq: 1,
      code: "cancelled",
      message: "Stopped by the user.",
      text: "",
    });
    await eventually(
      async () => {
        const t = await call("GET", `/api/tasks/${runningId}`, { cookie: user.cookie });
        return (t.body as { task: { status: string } }).task.status === "cancelled";
      },
      3000,
      "cancelled",
    );
    // The cancelled queued task never reached the device.
    expect(socket.frames.filter((f) => f.type === "task:execute")).toHaveLength(0);
  });

  it("fails a queued task with queue_timeout when its device stays offline", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id, { maxSlots: 1 });
    await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "a", target: { deviceId: id } },
    });
    const queued = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "b", target: { deviceId: id } },
    });
    const queuedId = (queued.body as { task: { id: string } }).task.id;
    socket.close();
    await eventually(
      async () => {
        const t = await call("GET", `/api/tasks/${queuedId}`, { cookie: user.cookie });
        const m = (
          t.body as { messages: { role: string; errorCode: string | null }[] }
        ).messages.find((x) => x.role === "assistant");
        return m?.errorCode === "queue_timeout";
      },
      8000,
      "queue_timeout",
    );
  });
});

describe("the devices API", () => {
  it("sets and unsets the default, renames (surviving re-registration)", async () => {
    const { user, token } = await setup();
    const a = newDeviceId();
    const b = newDeviceId();
    await registerDevice(token, a);
    const bConn = await registerDevice(token, b, { name: "Linux - old" });
    expect(
      (await call("PUT", `/api/devices/${b}/default`, { cookie: user.cookie })).body,
    ).toMatchObject({ device: { id: b, isDefault: true } });
    expect((await call("GET", `/api/devices/${a}`, { cookie: user.cookie })).body).toMatchObject({
      device: { isDefault: false },
    });
    expect(
      (await call("DELETE", `/api/devices/${b}/default`, { cookie: user.cookie })).body,
    ).toMatchObject({ device: { isDefault: false } });
    expect(
      (
        await call("PATCH", `/api/devices/${b}`, {
          cookie: user.cookie,
          body: { name: "Build box" },
        })
      ).body,
    ).toMatchObject({ device: { name: "Build box" } });
    bConn.socket.close();
    const again = await registerDevice(token, b, { name: "Linux - old" });
    expect(again.registered.name).toBe("Build box");
    expect((await call("GET", `/api/devices/${b}`, { cookie: user.cookie })).body).toMatchObject({
      device: { name: "Build box" },
    });
    expectError(
      await call("PATCH", `/api/devices/${b}`, { cookie: user.cookie, body: { name: "" } }),
      400,
      "invalid_body",
    );
    expectError(
      await call("PATCH", `/api/devices/${b}`, { cookie: user.cookie, rawBody: "{" }),
      400,
      "bad_json",
    );
  });

  it("refuses to delete an online device unless forced; forced removal stops the executor; it can register again", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    expectError(
      await call("DELETE", `/api/devices/${id}`, { cookie: user.cookie }),
      409,
      "device_online",
    );
    expectError(
      await call("DELETE", `/api/devices/${id}?force=maybe`, { cookie: user.cookie }),
      400,
      "invalid_query",
    );
    expect(
      (await call("DELETE", `/api/devices/${id}?force=true`, { cookie: user.cookie })).status,
    ).toBe(200);
    await eventually(() => socket.closed, 3000, "removed close");
    expect(socket.closed?.code).toBe(CloseCode.deviceRemoved);
    expectError(await call("GET", `/api/devices/${id}`, { cookie: user.cookie }), 404, "not_found");
    await registerDevice(token, id);
    expect((await call("GET", `/api/devices/${id}`, { cookie: user.cookie })).status).toBe(200);
  });

  it("closes a device's socket within 5 s of revoking its token", async () => {
    const { user, token, tokenId } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const started = Date.now();
    await call("DELETE", `/api/tokens/${tokenId}`, { cookie: user.cookie });
    await eventually(() => socket.closed, 5000, "revoked close");
    expect(socket.closed?.code).toBe(CloseCode.tokenRevoked);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("validates ids and keeps every device route private to its owner", async () => {
    const alice = await setup();
    const bob = await setup();
    const id = newDeviceId();
    await registerDevice(alice.token, id);
    // The same hardware under Bob's account is another device.
    await registerDevice(bob.token, id);
    const asBob = [
      ["GET", `/api/devices/${id}`],
      ["PUT", `/api/devices/${id}/default`],
      ["DELETE", `/api/devices/${id}/default`],
      ["PATCH", `/api/devices/${id}`],
      ["DELETE", `/api/devices/${id}?force=true`],
    ] as const;
    const other = newDeviceId();
    await registerDevice(alice.token, other);
    for (const [method, path] of asBob) {
      const p = path.replace(id, other);
      expectError(
        await call(method, p, {
          cookie: bob.user.cookie,
          body: method === "PATCH" ? { name: "mine" } : undefined,
        }),
        404,
        "not_found",
      );
    }
    expect(
      (await call("GET", `/api/devices/${other}`, { cookie: alice.user.cookie })).body,
    ).toMatchObject({ device: { status: "online" } });
    const bobList = (await call("GET", "/api/devices", { cookie: bob.user.cookie })).body as {
      devices: { id: string }[];
    };
    expect(bobList.devices.map((d) => d.id)).toEqual([id]);
    expectError(
      await call("GET", "/api/devices/has spaces!", { cookie: bob.user.cookie }),
      400,
      "invalid_path",
    );
    expectError(await call("GET", "/api/devices"), 401, "unauthorized");
  });
});

describe("token expiry on an open socket", () => {
  it("closes the device's socket with token_expired when its token runs out", async () => {
    const { user, token } = await setup();
    const id = newDeviceId();
    const { socket } = await registerDevice(token, id);
    const stub = deviceHub(env, user.id, id);
    await runInDurableObject(stub, async (instance) => {
      (instance as unknown as { store: HubStore }).store.setMeta({
        tokenExpiresAt: new Date(Date.now() - 1000).toISOString(),
      });
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await eventually(() => socket.closed, 3000, "expired close");
    expect(socket.closed?.code).toBe(CloseCode.tokenExpired);
  });
});
