// Messages sent while a reply runs: queued into it (202), taken by the running session, removed
// before they are taken, capped at 10, ended with a cancel; bad input changes nothing.
import { describe, expect, it } from "vitest";
import type { HubFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { type DeviceSocket, newDeviceId, registerDevice, textFrame } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;
type Request = Extract<HubFrame, { type: "device:request" }>;
interface Msg {
  id: string;
  role: string;
  status: string;
  content: string;
}

async function runningTask() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  const res = await call("POST", "/api/tasks", {
    cookie: user.cookie,
    body: { message: "Work for a while" },
  });
  expect(res.status).toBe(201);
  const taskId = (res.body as { task: { id: string } }).task.id;
  const e = (await socket.next("task:execute")) as Execute;
  socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
  socket.send(textFrame(e, 1, 0, "Working"));
  await socket.next("task:ack");
  return { user, socket, taskId, e, deviceId };
}

/** Sends a follow-up and plays the executor's answer to the device request it causes. */
async function sendWhileRunning(
  socket: DeviceSocket,
  cookie: string,
  taskId: string,
  body: Record<string, unknown>,
  answer: (r: Request) => Record<string, unknown> = () => ({
    ok: true,
    result: { state: "queued" },
  }),
) {
  const pending = call("POST", `/api/tasks/${taskId}/messages`, { cookie, body });
  const request = (await socket.next("device:request")) as Request;
  socket.send({ type: "device:response", requestId: request.requestId, ...answer(request) });
  return { res: await pending, request };
}

async function messagesOf(cookie: string, taskId: string): Promise<Msg[]> {
  const detail = await call("GET", `/api/tasks/${taskId}`, { cookie });
  return (detail.body as { messages: Msg[] }).messages;
}

describe("messages while the agent works", () => {
  it("queues into the running reply, marks it taken when the reply says so, and removes only waiting ones", async () => {
    const { user, socket, taskId, e } = await runningTask();

    const { res, request } = await sendWhileRunning(socket, user.cookie, taskId, {
      message: "Also add tests",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const queued = (res.body as { messages: Msg[] }).messages[0]!;
    expect(queued).toMatchObject({ role: "user", status: "queued", content: "Also add tests" });
    expect(request).toMatchObject({
      method: "task.message",
      params: {
        taskId,
        messageId: e.messageId,
        userMessageId: queued.id,
        text: "Also add tests",
        interrupt: false,
      },
    });
    expect((await messagesOf(user.cookie, taskId)).find((m) => m.id === queued.id)?.status).toBe(
      "queued",
    );

    // The running session takes it: the reply says where, and D1 records it.
    socket.send({
      type: "task:progress",
      taskId,
      messageId: e.messageId,
      seq: 2,
      event: { kind: "user_message", userMessageId: queued.id, text: "Also add tests" },
    });
    await socket.next("task:ack");
    await expect
      .poll(async () => (await messagesOf(user.cookie, taskId)).find((m) => m.id === queued.id))
      .toMatchObject({ status: "completed" });
    // Taken: it can no longer be removed.
    expectError(
      await call("DELETE", `/api/tasks/${taskId}/messages/${queued.id}`, { cookie: user.cookie }),
      409,
      "message_taken",
    );

    // A waiting one is removed when the executor still holds it.
    const second = await sendWhileRunning(socket, user.cookie, taskId, { message: "Never mind" });
    const secondId = (second.res.body as { messages: Msg[] }).messages[0]!.id;
    const removing = call("DELETE", `/api/tasks/${taskId}/messages/${secondId}`, {
      cookie: user.cookie,
    });
    const withdraw = (await socket.next("device:request")) as Request;
    expect(withdraw).toMatchObject({
      method: "task.withdraw",
      params: { taskId, userMessageId: secondId },
    });
    socket.send({
      type: "device:response",
      requestId: withdraw.requestId,
      ok: true,
      result: { withdrawn: true },
    });
    expect((await removing).status).toBe(200);
    expect((await messagesOf(user.cookie, taskId)).some((m) => m.id === secondId)).toBe(false);

    // The reply ends: the stream of the task stays one assistant message covering both.
    socket.send({
      type: "task:complete",
      taskId,
      messageId: e.messageId,
      seq: 3,
      text: "Working and tested",
      sessionId: "s-1",
      usage: null,
      costUsd: null,
    });
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 3);
    await expect
      .poll(async () => (await messagesOf(user.cookie, taskId)).map((m) => [m.role, m.status]))
      .toEqual([
        ["user", "completed"],
        ["assistant", "completed"],
        ["user", "completed"],
      ]);
    const detail = await messagesOf(user.cookie, taskId);
    expect((detail[1] as Msg & { blocks: unknown[] }).blocks).toContainEqual({
      type: "user_message",
      userMessageId: queued.id,
      text: "Also add tests",
    });
  }, 30_000);

  it("takes at most 10 waiting messages (the 11th: 429), refuses bad input without a trace, and a cancel ends the waiting ones", async () => {
    const { user, socket, taskId } = await runningTask();
    for (let i = 0; i < 10; i++) {
      const { res } = await sendWhileRunning(socket, user.cookie, taskId, { message: `m${i}` });
      expect(res.status).toBe(202);
    }
    const before = await messagesOf(user.cookie, taskId);
    expectError(
      await call("POST", `/api/tasks/${taskId}/messages`, {
        cookie: user.cookie,
        body: { message: "eleventh" },
      }),
      429,
      "queue_full",
    );
    // Too long to wait in a reply: 413, and nothing written (the queue is full, but the size
    // is checked first).
    expectError(
      await call("POST", `/api/tasks/${taskId}/messages`, {
        cookie: user.cookie,
        body: { message: "é".repeat(40 * 1024) },
      }),
      413,
      "message_too_long",
    );
    // Another device or model mid-reply: refused.
    expectError(
      await call("POST", `/api/tasks/${taskId}/messages`, {
        cookie: user.cookie,
        body: { message: "switch", model: "opus" },
      }),
      409,
      "task_busy",
    );
    expect(await messagesOf(user.cookie, taskId)).toEqual(before);

    const cancelled = await call("POST", `/api/tasks/${taskId}/cancel`, { cookie: user.cookie });
    expect(cancelled.status).toBe(200);
    const after = await messagesOf(user.cookie, taskId);
    expect(after.filter((m) => m.role === "user" && m.status === "cancelled")).toHaveLength(10);
  }, 30_000);

  it("an interrupt on a task that is not answering, or an unknown model, is a 400 that changes nothing", async () => {
    const { user, socket, taskId, e, deviceId } = await runningTask();
    socket.send({
      type: "task:complete",
      taskId,
      messageId: e.messageId,
      seq: 2,
      text: "Done",
      sessionId: "s-2",
      usage: null,
      costUsd: null,
    });
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 2);
    await expect
      .poll(async () => (await messagesOf(user.cookie, taskId)).map((m) => m.status))
      .toEqual(["completed", "completed"]);
    const before = await messagesOf(user.cookie, taskId);
    expectError(
      await call("POST", `/api/tasks/${taskId}/messages`, {
        cookie: user.cookie,
        body: { message: "stop that", interrupt: true },
      }),
      400,
      "nothing_to_interrupt",
    );
    // The device has not told us its models yet: a model cannot be checked, so it is refused.
    expectError(
      await call("POST", `/api/tasks/${taskId}/messages`, {
        cookie: user.cookie,
        body: { message: "with a model", model: "opus" },
      }),
      400,
      "unknown_model",
    );
    // Once it has, an unknown one is refused with the list.
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      runtimeInfo: [
        {
          id: "claude-code",
          version: "2.0.0",
          auth: { kind: "api_key", label: "API key" },
          models: [{ value: "sonnet", displayName: "Sonnet", description: "" }],
          commands: [{ name: "foo", description: "Foo", argumentHint: "" }],
          problem: null,
        },
      ],
    });
    await expect
      .poll(async () => {
        const list = await call("GET", "/api/devices", { cookie: user.cookie });
        const devices = (list.body as { devices: { runtimes: { id: string }[] }[] }).devices;
        return devices[0]?.runtimes.find((r) => r.id === "claude-code");
      })
      .toMatchObject({ commands: [{ name: "foo" }] });
    const unknown = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "with a model", model: "opus" },
    });
    expectError(unknown, 400, "unknown_model");
    expect((unknown.body as { error: { message: string } }).error.message).toContain("sonnet");
    expect(await messagesOf(user.cookie, taskId)).toEqual(before);
    // A new task naming an unknown model is refused too, and no task is made.
    const tasksBefore = await call("GET", "/api/tasks", { cookie: user.cookie });
    expectError(
      await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "new with a model", model: "opus", target: { deviceId } },
      }),
      400,
      "unknown_model",
    );
    expect((await call("GET", "/api/tasks", { cookie: user.cookie })).body).toEqual(
      tasksBefore.body,
    );

    // A known one goes to the device with the message.
    const ok = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "with a model", model: "sonnet" },
    });
    expect(ok.status).toBe(201);
    expect(await socket.next("task:execute")).toMatchObject({ model: "sonnet" });
  }, 30_000);
});

describe("a script token and a running reply", () => {
  it("may not add to a reply a person let act without asking; may add to one that asks", async () => {
    const { user, socket, taskId } = await runningTask();
    const { token } = await createToken(user, { name: "ci script" });
    // The reply runs in the account's default mode, bypassPermissions: a person's choice.
    const refused = await call("POST", `/api/tasks/${taskId}/messages`, {
      token,
      body: { message: "Also delete the backups" },
    });
    expectError(refused, 403, "session_required");
    expect((await messagesOf(user.cookie, taskId)).some((m) => m.content.includes("backups"))).toBe(
      false,
    );
    const audit = await call("GET", "/api/audit", { cookie: user.cookie });
    expect(JSON.stringify(audit.body)).toContain(
      "queued into a reply running in bypassPermissions",
    );

    // A reply that asks before tools: the token's words wait in it like anyone's.
    const asking = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Work carefully", permissionMode: "default" },
    });
    const askingId = (asking.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId: askingId, messageId: e.messageId });
    socket.send(textFrame(e, 1, 0, "Working"));
    await socket.next("task:ack");
    const pending = call("POST", `/api/tasks/${askingId}/messages`, {
      token,
      body: { message: "Also add tests" },
    });
    const request = (await socket.next("device:request")) as Request;
    socket.send({
      type: "device:response",
      requestId: request.requestId,
      ok: true,
      result: { state: "queued" },
    });
    expect((await pending).status).toBe(202);
  });

  it("refuses a person's message that asks for another mode than the running reply's", async () => {
    const { user, taskId } = await runningTask();
    // The reply runs in bypassPermissions; the person asks for default ("ask me first").
    const refused = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "From now on, ask before each command", permissionMode: "default" },
    });
    expectError(refused, 409, "mode_busy");
    expect(
      (await messagesOf(user.cookie, taskId)).some((m) => m.content.includes("ask before")),
    ).toBe(false);
  });
});
