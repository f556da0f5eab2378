import { describe, expect, it } from "vitest";
import type { HubFrame, Project, TaskWithMessages } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { type DeviceSocket, newDeviceId, openDevice } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;
type Request = Extract<HubFrame, { type: "device:request" }>;

function project(id: string, git: boolean): Project {
  return {
    id,
    name: `proj-${id.slice(2, 6)}`,
    path: `/home/me/${id}`,
    git,
    branch: git ? "main" : null,
    dirty: false,
  };
}

async function device(token: string, projects: Project[], runtimes = ["claude-code"]) {
  const deviceId = newDeviceId();
  const { socket } = await openDevice(token, deviceId);
  const s = socket!;
  s.send({
    type: "device:register",
    deviceId,
    name: "Laptop",
    platform: "linux-x64",
    executorVersion: "0.1.0",
    maxSlots: 5,
    deviceType: "local",
    runtimes,
    runningTaskIds: [],
    projects,
  });
  await s.next("device:registered");
  return { deviceId, socket: s };
}

/** Answers every device:request the way the real executor's session store would. */
function answerSessions(
  s: DeviceSocket,
  sessions: { id: string; projectId: string; runtime?: string }[],
) {
  s.ws.addEventListener("message", (event) => {
    const frame = JSON.parse(String(event.data)) as HubFrame;
    if (frame.type !== "device:request") return;
    const r = frame as Request;
    const params = r.params as { projectId?: string | null; sessionId?: string };
    const listed = sessions.map((x) => ({
      ...x,
      title: "t",
      updatedAt: "2030-01-01T00:00:00Z",
      messageCount: 2,
    }));
    if (r.method === "sessions.list") {
      s.send({
        type: "device:response",
        requestId: r.requestId,
        ok: true,
        result: {
          sessions: listed.filter((x) => !params.projectId || x.projectId === params.projectId),
        },
      });
    } else {
      const found = listed.find((x) => x.id === params.sessionId);
      s.send(
        found
          ? {
              type: "device:response",
              requestId: r.requestId,
              ok: true,
              result: { session: found, messages: [], truncated: false },
            }
          : {
              type: "device:response",
              requestId: r.requestId,
              ok: false,
              error: { code: "not_found", message: "no" },
            },
      );
    }
  });
}

describe("local work on the platform", () => {
  it("lists projects, accepts only the device's own project ids, dispatches the id and shows the branch", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const git = project("p_aaaaaaaaaaaa", true);
    const a = await device(token, [git]);
    const b = await device(token, [project("p_bbbbbbbbbbbb", true)]);
    const listed = await call("GET", "/api/devices", { cookie: user.cookie });
    const row = (listed.body as { devices: { id: string; projects: Project[] }[] }).devices.find(
      (d) => d.id === a.deviceId,
    );
    expect(row?.projects).toEqual([git]);

    for (const projectId of ["p_bbbbbbbbbbbb", "p_madeup00000"]) {
      const refused = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "hi", target: { deviceId: a.deviceId, projectId } },
      });
      expectError(refused, 404, "project_not_found");
    }
    expectError(
      await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "hi", target: { deviceId: a.deviceId, projectId: "../../etc" } },
      }),
      400,
    );
    const created = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "hi", target: { deviceId: a.deviceId, projectId: git.id } },
    });
    expect(created.status).toBe(201);
    const task = (created.body as TaskWithMessages).task;
    expect(task).toMatchObject({
      projectId: git.id,
      projectName: git.name,
      branch: `wegent/${task.id.slice(0, 8)}`,
    });
    const execute = (await a.socket.next("task:execute")) as Execute;
    expect(execute.projectId).toBe(git.id);
    expect(JSON.stringify(execute)).not.toContain(git.path);
    b.socket.close();
  });

  it("runs a non-git project one task at a time and says why the next one waits", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const plain = project("p_cccccccccccc", false);
    const a = await device(token, [plain]);
    const send = () =>
      call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "hi", target: { deviceId: a.deviceId, projectId: plain.id } },
      });
    const first = (await send()).body as TaskWithMessages;
    const second = (await send()).body as TaskWithMessages;
    expect(first.task.branch).toBeNull();
    const reply = second.messages.find((m) => m.role === "assistant")!;
    expect(reply.status).toBe("queued");
    const detail = (await call("GET", `/api/tasks/${second.task.id}`, { cookie: user.cookie }))
      .body as TaskWithMessages;
    expect(detail.messages.find((m) => m.role === "assistant")?.queueReason).toContain(plain.name);
    const e1 = (await a.socket.next("task:execute")) as Execute;
    expect(e1.taskId).toBe(first.task.id);
    a.socket.send({ type: "task:accepted", taskId: e1.taskId, messageId: e1.messageId });
    a.socket.send({
      type: "task:failed",
      taskId: e1.taskId,
      messageId: e1.messageId,
      seq: 1,
      code: "cancelled",
      message: "x",
    });
    const e2 = (await a.socket.next("task:execute")) as Execute;
    expect(e2.taskId).toBe(second.task.id);
  });

  it("reads local sessions through the device RPC: listed, 404 unknown, 504 silent, 409 offline, continue", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const git = project("p_dddddddddddd", true);
    const a = await device(token, [git]);
    const sessionId = "6f1c2d3e-0000-4000-8000-000000000001";
    // Silent device first: the request times out.
    expectError(
      await call("GET", `/api/devices/${a.deviceId}/sessions`, { cookie: user.cookie }),
      504,
      "device_timeout",
    );
    answerSessions(a.socket, [{ id: sessionId, projectId: git.id }]);
    const listed = await call("GET", `/api/devices/${a.deviceId}/sessions?projectId=${git.id}`, {
      cookie: user.cookie,
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ sessions: [{ id: sessionId, projectId: git.id }] });
    expectError(
      await call("GET", `/api/devices/${a.deviceId}/sessions?projectId=p_zzzzzzzzzzzz`, {
        cookie: user.cookie,
      }),
      404,
      "project_not_found",
    );
    const one = await call("GET", `/api/devices/${a.deviceId}/sessions/${sessionId}`, {
      cookie: user.cookie,
    });
    expect(one.body).toMatchObject({ session: { id: sessionId } });
    expectError(
      await call("GET", `/api/devices/${a.deviceId}/sessions/nope-1`, { cookie: user.cookie }),
      404,
      "session_not_found",
    );
    expectError(
      await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: {
          message: "go on",
          target: { deviceId: a.deviceId, projectId: git.id },
          continueSessionId: "nope-1",
        },
      }),
      404,
      "session_not_found",
    );
    const continued = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: {
        message: "go on",
        target: { deviceId: a.deviceId, projectId: git.id },
        continueSessionId: sessionId,
      },
    });
    expect(continued.status).toBe(201);
    expect((continued.body as TaskWithMessages).task.branch).toBe("main");
    const execute = (await a.socket.next("task:execute")) as Execute;
    expect(execute).toMatchObject({ resumeSessionId: sessionId, projectId: git.id });
    // Another user never reaches this device's sessions.
    const other = await signUp();
    expectError(
      await call("GET", `/api/devices/${a.deviceId}/sessions`, { cookie: other.cookie }),
      404,
    );
    a.socket.close();
    await new Promise((r) => setTimeout(r, 1500));
    expectError(
      await call("GET", `/api/devices/${a.deviceId}/sessions`, { cookie: user.cookie }),
      409,
      "device_offline",
    );
  });

  it("continues a Codex thread on Codex, refusing another runtime", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const git = project("p_eeeeeeeeeeee", true);
    const a = await device(token, [git], ["claude-code", "codex"]);
    const threadId = "0199a0b1-0000-7000-8000-000000000001";
    answerSessions(a.socket, [{ id: threadId, projectId: git.id, runtime: "codex" }]);
    const body = {
      message: "go on",
      target: { deviceId: a.deviceId, projectId: git.id },
      continueSessionId: threadId,
    };
    expectError(
      await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { ...body, runtime: "claude-code" },
      }),
      409,
      "runtime_mismatch",
    );
    const continued = await call("POST", "/api/tasks", { cookie: user.cookie, body });
    expect(continued.status, JSON.stringify(continued.body)).toBe(201);
    expect((continued.body as TaskWithMessages).task).toMatchObject({
      runtime: "codex",
      branch: "main",
    });
    const execute = (await a.socket.next("task:execute")) as Execute;
    expect(execute).toMatchObject({
      runtime: "codex",
      resumeSessionId: threadId,
      projectId: git.id,
    });
  });
});
