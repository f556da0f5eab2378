import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CloseCode, type HubFrame, type LiveFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import {
  eventually,
  newDeviceId,
  openLive,
  registerDevice,
  reply,
  textFrame,
} from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;
interface Created {
  task: { id: string; status: string; target: string; deviceId: string | null };
  messages: { id: string; role: string; status: string; queuePosition: number | null }[];
}

async function deviceUser() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  return { user, token, deviceId, socket };
}

describe("tasks", () => {
  it("creates a task on the default device, streams live deltas, and keeps the history", async () => {
    const { user, deviceId, socket } = await deviceUser();
    const live = await openLive(user.cookie);
    await live.next("live:hello");
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Write a haiku\nabout edges" },
    });
    expect(res.status).toBe(201);
    const created = res.body as Created;
    expect(created.task).toMatchObject({
      title: "Write a haiku",
      target: "device",
      deviceId,
      status: "running",
    });
    expect(created.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    const e = (await socket.next("task:execute")) as Execute;
    expect(e).toMatchObject({
      taskId: created.task.id,
      prompt: "Write a haiku\nabout edges",
      resumeSessionId: null,
      runtime: "claude-code",
    });
    await reply(socket, e, "Packets at the edge", "session-A");
    const delta = await live.next("message:delta");
    expect(delta).toMatchObject({
      taskId: created.task.id,
      seq: 1,
      event: { kind: "text", delta: "Packets at the edge" },
    });
    const done = await live.next("message:done");
    expect(done).toMatchObject({ status: "completed", content: "Packets at the edge" });

    // A follow-up stays on the device and resumes the Claude session.
    const follow = await call("POST", `/api/tasks/${created.task.id}/messages`, {
      cookie: user.cookie,
      body: { message: "Another" },
    });
    expect(follow.status).toBe(201);
    const e2 = (await socket.next("task:execute")) as Execute;
    expect(e2).toMatchObject({ taskId: created.task.id, resumeSessionId: "session-A" });
    // (A message sent while it runs waits in the running reply: see follow-ups.test.ts.)
    await reply(socket, e2, "More packets", "session-A");

    const detail = await call("GET", `/api/tasks/${created.task.id}`, { cookie: user.cookie });
    const messages = (
      detail.body as { messages: { role: string; content: string; status: string }[] }
    ).messages;
    expect(messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ["user", "Write a haiku\nabout edges", "completed"],
      ["assistant", "Packets at the edge", "completed"],
      ["user", "Another", "completed"],
      ["assistant", "More packets", "completed"],
    ]);
  });

  it("resumes the live channel from the last sequence without loss or repeats", async () => {
    const { user, socket } = await deviceUser();
    const first = await openLive(user.cookie);
    const hello = (await first.next("live:hello")) as Extract<LiveFrame, { type: "live:hello" }>;
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "stream" },
    });
    const taskId = (res.body as Created).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    socket.send(textFrame(e, 1, 0, "a"));
    const d1 = await first.next("message:delta");
    first.close();
    socket.send(textFrame(e, 2, 1, "b"));
    socket.send(textFrame(e, 3, 2, "c"));
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 3);
    const second = await openLive(user.cookie, d1.liveSeq);
    expect(await second.next("live:hello")).toMatchObject({ reset: false });
    const deltas = await eventually(
      () => {
        const got = second.frames.filter((f) => f.type === "message:delta");
        return got.length >= 2 ? got : undefined;
      },
      3000,
      "replayed deltas",
    );
    expect(
      deltas.map((f) =>
        f.type === "message:delta" && f.event.kind === "text" ? f.event.delta : "",
      ),
    ).toEqual(["b", "c"]);
    expect(d1.liveSeq).toBeGreaterThan(hello.liveSeq);
    // The channel is read-only: anything but a ping closes it.
    second.sendRaw("hello?");
    await eventually(() => second.closed, 3000, "read-only close");
    expect(second.closed?.code).toBe(CloseCode.protocolAbuse);
    // A position from the future (e.g. a stale tab) asks for a refetch.
    const stale = await openLive(user.cookie, 10_000_000);
    expect(await stale.next("live:hello")).toMatchObject({ reset: true });
  });

  it("runs on the cloud pool when there is no online default, and 503s without capacity", async () => {
    const user = await signUp();
    expectError(
      await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "hi" } }),
      503,
      "no_cloud_capacity",
    );
    const admin = await signUp();
    await env.DB.prepare("UPDATE users SET is_admin = 1 WHERE id = ?").bind(admin.id).run();
    const op = await createToken(admin, { name: "pool", scope: "cloud" });
    const cloudId = newDeviceId();
    const { socket } = await registerDevice(op.token, cloudId, { deviceType: "cloud" });
    const devices = await call("GET", "/api/devices", { cookie: user.cookie });
    expect(devices.body).toMatchObject({
      devices: [],
      cloud: { online: true, executors: 1, slotsUsed: 0, maxSlots: 5 },
    });
    // The operator sees their pool executor as Cloud too, never as a personal device.
    const own = await call("GET", "/api/devices", { cookie: admin.cookie });
    expect(own.body).toMatchObject({ devices: [], cloud: { online: true, executors: 1 } });
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "hi", target: "cloud" },
    });
    expect(res.status).toBe(201);
    const created = res.body as Created;
    expect(created.task).toMatchObject({ target: "cloud", deviceId: null });
    const e = (await socket.next("task:execute")) as Execute;
    await reply(socket, e, "from the cloud", "s");
    const detail = await call("GET", `/api/tasks/${created.task.id}`, { cookie: user.cookie });
    expect((detail.body as { messages: { content: string }[] }).messages[1]?.content).toBe(
      "from the cloud",
    );
    // The operator who runs the pool does not see the user's task.
    expectError(
      await call("GET", `/api/tasks/${created.task.id}`, { cookie: admin.cookie }),
      404,
      "not_found",
    );
    expect(
      ((await call("GET", "/api/tasks", { cookie: admin.cookie })).body as { tasks: unknown[] })
        .tasks,
    ).toHaveLength(0);
  });

  it("lists newest first with a cursor, and deletes", async () => {
    const { user, socket } = await deviceUser();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: `t${i}` },
      });
      ids.push((res.body as Created).task.id);
      await reply(socket, (await socket.next("task:execute")) as Execute, "ok", "s");
    }
    const page1 = (await call("GET", "/api/tasks?limit=2", { cookie: user.cookie })).body as {
      tasks: { id: string }[];
      nextCursor: string;
    };
    expect(page1.tasks.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    const page2 = (
      await call("GET", `/api/tasks?limit=2&cursor=${encodeURIComponent(page1.nextCursor)}`, {
        cookie: user.cookie,
      })
    ).body as { tasks: { id: string }[]; nextCursor: string | null };
    expect(page2.tasks.map((t) => t.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
    expectError(
      await call("GET", "/api/tasks?limit=0", { cookie: user.cookie }),
      400,
      "invalid_query",
    );
    expectError(
      await call("GET", "/api/tasks?cursor=junk", { cookie: user.cookie }),
      400,
      "invalid_query",
    );
    expect((await call("DELETE", `/api/tasks/${ids[0]}`, { cookie: user.cookie })).status).toBe(
      200,
    );
    expectError(
      await call("GET", `/api/tasks/${ids[0]}`, { cookie: user.cookie }),
      404,
      "not_found",
    );
  });

  it("validates input on every task route", async () => {
    const { user } = await deviceUser();
    expectError(
      await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "" } }),
      400,
      "invalid_body",
    );
    expectError(
      await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "x", target: { deviceId: 5 } },
      }),
      400,
      "invalid_body",
    );
    expectError(
      await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "x", target: { deviceId: "nope-not-mine" } },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", "/api/tasks", { cookie: user.cookie, rawBody: "[" }),
      400,
      "bad_json",
    );
    expectError(await call("GET", "/api/tasks/123", { cookie: user.cookie }), 400, "invalid_path");
    expectError(
      await call("POST", "/api/tasks/123/cancel", { cookie: user.cookie }),
      400,
      "invalid_path",
    );
    expectError(
      await call("POST", `/api/tasks/${crypto.randomUUID()}/messages`, {
        cookie: user.cookie,
        body: { message: "x" },
      }),
      404,
      "not_found",
    );
    expectError(await call("GET", "/api/tasks"), 401, "unauthorized");
  });

  it("never lets another user read, follow up, cancel, delete or stream a task", async () => {
    const alice = await deviceUser();
    const bob = await signUp();
    const res = await call("POST", "/api/tasks", {
      cookie: alice.user.cookie,
      body: { message: "secret plans" },
    });
    const taskId = (res.body as Created).task.id;
    const bobLive = await openLive(bob.cookie);
    await bobLive.next("live:hello");
    const e = (await alice.socket.next("task:execute")) as Execute;
    alice.socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    alice.socket.send(textFrame(e, 1, 0, "classified"));
    await alice.socket.next("task:ack");
    expectError(
      await call("GET", `/api/tasks/${taskId}`, { cookie: bob.cookie }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/api/tasks/${taskId}/messages`, {
        cookie: bob.cookie,
        body: { message: "x" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/api/tasks/${taskId}/cancel`, { cookie: bob.cookie }),
      404,
      "not_found",
    );
    expectError(
      await call("DELETE", `/api/tasks/${taskId}`, { cookie: bob.cookie }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", "/api/tasks", {
        cookie: bob.cookie,
        body: { message: "x", target: { deviceId: alice.deviceId } },
      }),
      404,
      "not_found",
    );
    expect(
      ((await call("GET", "/api/tasks", { cookie: bob.cookie })).body as { tasks: unknown[] })
        .tasks,
    ).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(bobLive.raw.join("")).not.toContain("classified");
    expect(bobLive.raw.join("")).not.toContain(taskId);
    // Alice's task is untouched by all of that.
    const mine = await call("GET", `/api/tasks/${taskId}`, { cookie: alice.user.cookie });
    expect((mine.body as { task: { status: string } }).task.status).toBe("running");
  });
});
