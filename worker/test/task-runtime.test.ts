// A task's agent runtime (claude-code or codex): chosen at create (else the user's setting,
// else claude-code), kept by every follow-up, sent with task:execute, refused with 409
// `runtime_unavailable` on a device that lacks it (nothing is written then).
import { describe, expect, it } from "vitest";
import type { Device, HubFrame, TaskWithMessages } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { newDeviceId, registerDevice, reply } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

async function deviceWith(runtimes: string[]) {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId, { extra: { runtimes } });
  return { user, socket, deviceId };
}

describe("the task's runtime", () => {
  it("runs a task on Codex, keeps it for follow-ups and refuses switching it", async () => {
    const { user, socket, deviceId } = await deviceWith(["claude-code", "codex"]);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Hello Codex", target: { deviceId }, runtime: "codex" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const created = res.body as TaskWithMessages;
    expect(created.task.runtime).toBe("codex");
    const first = (await socket.next("task:execute")) as Execute;
    expect(first.runtime).toBe("codex");
    await reply(socket, first, "Hi", "thread-1");

    const switched = await call("POST", `/api/tasks/${created.task.id}/messages`, {
      cookie: user.cookie,
      body: { message: "Now with Claude", runtime: "claude-code" },
    });
    expectError(switched, 409, "runtime_mismatch");

    const follow = await call("POST", `/api/tasks/${created.task.id}/messages`, {
      cookie: user.cookie,
      body: { message: "And again" },
    });
    expect(follow.status, JSON.stringify(follow.body)).toBe(201);
    const second = (await socket.next("task:execute")) as Execute;
    expect(second).toMatchObject({ runtime: "codex", resumeSessionId: "thread-1" });
    const detail = await call("GET", `/api/tasks/${created.task.id}`, { cookie: user.cookie });
    expect((detail.body as TaskWithMessages).task.runtime).toBe("codex");
  });

  it("refuses a runtime the device lacks with 409 runtime_unavailable naming what it has, writing nothing", async () => {
    const { user, deviceId } = await deviceWith(["claude-code"]);
    for (const target of [{ deviceId }, undefined]) {
      const res = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "Hello", runtime: "codex", ...(target ? { target } : {}) },
      });
      expectError(res, 409, "runtime_unavailable");
      const message = (res.body as { error: { message: string } }).error.message;
      expect(message).toContain("no Codex");
      expect(message).toContain("Claude Code");
    }
    const list = await call("GET", "/api/tasks", { cookie: user.cookie });
    expect((list.body as { tasks: unknown[] }).tasks).toEqual([]);
  });

  it("defaults to the user's setting, else claude-code, on both create paths", async () => {
    const { user, socket, deviceId } = await deviceWith(["claude-code", "codex"]);
    const plain = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "No runtime named", target: { deviceId } },
    });
    expect((plain.body as TaskWithMessages).task.runtime).toBe("claude-code");
    expect(((await socket.next("task:execute")) as Execute).runtime).toBe("claude-code");

    const put = await call("PUT", "/api/settings", {
      cookie: user.cookie,
      body: { defaultPermissionMode: "default", defaultRuntime: "codex" },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ settings: { defaultRuntime: "codex" } });
    for (const target of [{ deviceId }, undefined]) {
      const res = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "Default", ...(target ? { target } : {}) },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect((res.body as TaskWithMessages).task.runtime).toBe("codex");
      expect(((await socket.next("task:execute")) as Execute).runtime).toBe("codex");
    }
  });

  it("refuses an unknown runtime name with 400", async () => {
    const { user, deviceId } = await deviceWith(["claude-code"]);
    const res = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Hello", target: { deviceId }, runtime: "gemini" },
    });
    expectError(res, 400);
    const put = await call("PUT", "/api/settings", {
      cookie: user.cookie,
      body: { defaultPermissionMode: "default", defaultRuntime: "gemini" },
    });
    expectError(put, 400);
  });
  it("checks a model named on a Codex task against Codex's own models, not Claude Code's", async () => {
    const { user, socket, deviceId } = await deviceWith(["claude-code", "codex"]);
    const agents = (codexModels: string[]) => [
      {
        id: "claude-code" as const,
        version: "2.0.0",
        auth: { kind: "api_key" as const, label: "API key" },
        models: [{ value: "sonnet", displayName: "Sonnet", description: "" }],
        commands: [],
        problem: null,
      },
      {
        id: "codex" as const,
        version: "0.171.0",
        auth: { kind: "login" as const, label: "Codex login" },
        models: codexModels.map((value) => ({ value, displayName: value, description: "" })),
        commands: [],
        problem: null,
      },
    ];
    const reported = async (count: number) =>
      expect
        .poll(async () => {
          const list = await call("GET", "/api/devices", { cookie: user.cookie });
          const devices = (list.body as { devices: Device[] }).devices;
          return devices[0]?.runtimes.find((r) => r.id === "codex")?.models.length;
        })
        .toBe(count);
    socket.send({ type: "device:heartbeat", runningTaskIds: [], runtimeInfo: agents([]) });
    await reported(0);
    const create = (model: string) =>
      call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "Hello Codex", target: { deviceId }, runtime: "codex", model },
      });
    // Claude Code's model is no Codex model; Codex reporting none accepts none.
    const claudes = await create("sonnet");
    expectError(claudes, 400, "unknown_model");
    expect((claudes.body as { error: { message: string } }).error.message).toContain("Codex");

    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      runtimeInfo: agents(["gpt-5.1-codex"]),
    });
    await reported(1);
    const wrong = await create("sonnet");
    expectError(wrong, 400, "unknown_model");
    expect((wrong.body as { error: { message: string } }).error.message).toContain("gpt-5.1-codex");
    const list = await call("GET", "/api/tasks", { cookie: user.cookie });
    expect((list.body as { tasks: unknown[] }).tasks).toEqual([]);

    const ok = await create("gpt-5.1-codex");
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const first = (await socket.next("task:execute")) as Execute;
    expect(first).toMatchObject({ runtime: "codex", model: "gpt-5.1-codex" });
    await reply(socket, first, "Hi", "thread-1");
    const taskId = (ok.body as TaskWithMessages).task.id;
    await expect
      .poll(async () => {
        const detail = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
        return (detail.body as TaskWithMessages).messages.at(-1)?.status;
      })
      .toBe("completed");
    // Follow-ups of the Codex task are checked against Codex's models too.
    const followWrong = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "again", model: "sonnet" },
    });
    expectError(followWrong, 400, "unknown_model");
    const follow = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "again", model: "gpt-5.1-codex" },
    });
    expect(follow.status, JSON.stringify(follow.body)).toBe(201);
    expect((await socket.next("task:execute")) as Execute).toMatchObject({
      model: "gpt-5.1-codex",
    });
  });
});
