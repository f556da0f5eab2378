import { describe, expect, it } from "vitest";
import type { HubFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import {
  answerAsk,
  eventually,
  newDeviceId,
  nextAsk,
  registerDevice,
  reply,
} from "./device-client";

// Deleting a task tells the device that ran it to forget its files (`workspace.forget`), best
// effort: a device offline or silent keeps them, and the delete succeeds anyway, quickly.

type Execute = Extract<HubFrame, { type: "task:execute" }>;

async function taskOnDevice() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  const res = await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "hi" } });
  expect(res.status).toBe(201);
  const taskId = (res.body as { task: { id: string } }).task.id;
  await reply(socket, (await socket.next("task:execute")) as Execute, "done", "session-1");
  return { user, socket, taskId };
}

const gone = async (cookie: string, taskId: string) =>
  expectError(await call("GET", `/api/tasks/${taskId}`, { cookie }), 404, "not_found");

describe("task delete forgets the workspace on the device", () => {
  it("asks the online device to forget the task's files, then deletes", async () => {
    const { user, socket, taskId } = await taskOnDevice();
    const deleting = call("DELETE", `/api/tasks/${taskId}`, { cookie: user.cookie });
    const ask = await nextAsk(socket, "workspace.forget");
    expect(ask).toEqual({ requestId: ask.requestId, taskId });
    answerAsk(socket, ask.requestId, {
      kind: "forgotten",
      removed: { worktree: true, folder: false, snapshot: false, ref: false, session: true },
    });
    expect((await deleting).status).toBe(200);
    await gone(user.cookie, taskId);
  });

  it("a device that refuses (a reply still stopping) or never answers does not fail the delete", async () => {
    const { user, socket, taskId } = await taskOnDevice();
    const deleting = call("DELETE", `/api/tasks/${taskId}`, { cookie: user.cookie });
    const ask = await nextAsk(socket, "workspace.forget");
    answerAsk(socket, ask.requestId, { kind: "error", code: "task_running", message: "busy" });
    expect((await deleting).status).toBe(200);
    await gone(user.cookie, taskId);

    const second = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "again" },
    });
    const secondId = (second.body as { task: { id: string } }).task.id;
    await reply(socket, (await socket.next("task:execute")) as Execute, "ok", "session-2");
    const started = Date.now();
    const silent = call("DELETE", `/api/tasks/${secondId}`, { cookie: user.cookie });
    await nextAsk(socket, "workspace.forget"); // and never answered
    expect((await silent).status).toBe(200);
    const took = Date.now() - started;
    expect(took).toBeLessThan(15_000);
    await gone(user.cookie, secondId);
  }, 30_000);

  it("succeeds at once when the device is offline (its files stay until it is asked again)", async () => {
    const { user, socket, taskId } = await taskOnDevice();
    socket.close();
    await eventually(() => socket.closed !== null, 5_000, "the socket closed");
    const started = Date.now();
    expect((await call("DELETE", `/api/tasks/${taskId}`, { cookie: user.cookie })).status).toBe(
      200,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    await gone(user.cookie, taskId);
    expect(socket.frames.filter((f) => f.type === "device:request")).toEqual([]);
  });
});
