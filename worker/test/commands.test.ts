import { describe, expect, it } from "vitest";
import { call, createToken, expectError, signUp } from "./helpers";
import { newDeviceId, registerDevice } from "./device-client";

async function deviceUser() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  return { user, token, deviceId, socket };
}

const run = (cookie: string, deviceId: string, body: unknown) =>
  call("POST", `/api/devices/${deviceId}/commands`, { cookie, body });

describe("command RPC: the platform's checks", () => {
  it("refuses an unknown key with command_unknown", async () => {
    const { user, deviceId, socket } = await deviceUser();
    expectError(await run(user.cookie, deviceId, { key: "rm.everything" }), 400, "command_unknown");
    expectError(await run(user.cookie, deviceId, { key: "bad key;" }), 400, "invalid_body");
    socket.close();
  });

  it("refuses bad args naming the field", async () => {
    const { user, deviceId, socket } = await deviceUser();
    const taskId = crypto.randomUUID();
    const res = await run(user.cookie, deviceId, {
      key: "workspace.file",
      args: { path: "../../etc/passwd" },
      taskId,
    });
    expectError(res, 400, "invalid_args");
    expect((res.body as { error: { message: string } }).error.message).toContain("args.path");
    const extra = await run(user.cookie, deviceId, { key: "runtime.info", args: { shell: "sh" } });
    expectError(extra, 400, "invalid_args");
    const noTask = await run(user.cookie, deviceId, { key: "workspace.diff" });
    expectError(noTask, 400, "invalid_args");
    expect((noTask.body as { error: { message: string } }).error.message).toContain("taskId");
    socket.close();
  });

  it("answers 404 for someone else's device, and for a task that is not on it", async () => {
    const { user, deviceId, socket } = await deviceUser();
    const other = await signUp();
    expectError(await run(other.cookie, deviceId, { key: "runtime.info" }), 404, "not_found");
    expectError(
      await call("GET", `/api/devices/${deviceId}/audit`, { cookie: other.cookie }),
      404,
      "not_found",
    );
    const res = await run(user.cookie, deviceId, {
      key: "workspace.status",
      taskId: crypto.randomUUID(),
    });
    expectError(res, 404, "not_found");
    socket.close();
  });

  it("answers 409 at once for an offline device", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const deviceId = newDeviceId();
    const { socket } = await registerDevice(token, deviceId);
    socket.close();
    // The hub marks it reconnecting/offline when the socket closes.
    for (let i = 0; i < 100; i++) {
      const res = await call("GET", `/api/devices/${deviceId}`, { cookie: user.cookie });
      if ((res.body as { device: { status: string } }).device.status !== "online") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const started = Date.now();
    expectError(await run(user.cookie, deviceId, { key: "runtime.info" }), 409, "device_offline");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("pages the audit, newest first, only for the owner", async () => {
    const { user, deviceId, socket } = await deviceUser();
    const empty = await call("GET", `/api/devices/${deviceId}/audit`, { cookie: user.cookie });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ entries: [], nextCursor: null });
    expectError(
      await call("GET", `/api/devices/${deviceId}/audit?cursor=x`, { cookie: user.cookie }),
      400,
      "invalid_query",
    );
    socket.close();
  });
});
