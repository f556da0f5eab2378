import { describe, expect, it } from "vitest";
import type { AttentionBody, HubFrame, TaskWithMessages } from "@wegent/protocol";
import { call, createToken, expectError, signUp, type TestUser } from "./helpers";
import { type DeviceSocket, eventually, newDeviceId, registerDevice } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

async function start(user: TestUser, socket: DeviceSocket, deviceId: string, message: string) {
  const created = await call("POST", "/api/tasks", {
    cookie: user.cookie,
    body: { message, permissionMode: "default", target: { deviceId } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const taskId = (created.body as TaskWithMessages).task.id;
  const e = (await socket.next("task:execute")) as Execute;
  socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
  return { taskId, e };
}

const inbox = async (user: TestUser) =>
  ((await call("GET", "/api/attention", { cookie: user.cookie })).body as AttentionBody).items;

describe("one inbox", () => {
  it("lists open requests first, then finished replies not seen, across devices; seen hides", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const a = newDeviceId();
    const b = newDeviceId();
    const devA = (await registerDevice(token, a)).socket;
    const devB = (await registerDevice(token, b)).socket;
    const done = await start(user, devB, b, "finish this");
    devB.send({
      type: "task:complete",
      taskId: done.taskId,
      messageId: done.e.messageId,
      seq: 1,
      text: "done",
      sessionId: "s",
      usage: null,
      costUsd: null,
    });
    const asking = await start(user, devA, a, "ask me");
    devA.send({
      type: "task:input-request",
      taskId: asking.taskId,
      messageId: asking.e.messageId,
      requestId: crypto.randomUUID(),
      kind: "permission",
      tool: "Write",
      input: { file_path: "x" },
    });
    const items = await eventually(
      async () => {
        const list = await inbox(user);
        return list.length === 2 ? list : null;
      },
      5_000,
      "two items in the inbox",
    );
    expect(items.map((i) => [i.taskId, i.reason, i.deviceId])).toEqual([
      [asking.taskId, "needs_input", a],
      [done.taskId, "finished", b],
    ]);
    const other = await signUp();
    expect(await inbox(other)).toEqual([]);
    expectError(
      await call("POST", `/api/tasks/${done.taskId}/seen`, { cookie: other.cookie }),
      404,
    );
    expectError(await call("POST", `/api/tasks/not-a-uuid/seen`, { cookie: user.cookie }), 400);
    const seen = await call("POST", `/api/tasks/${done.taskId}/seen`, { cookie: user.cookie });
    expect(seen.status).toBe(204);
    expect((await inbox(user)).map((i) => i.taskId)).toEqual([asking.taskId]);
    expectError(await call("GET", "/api/attention"), 401);
  });
});
