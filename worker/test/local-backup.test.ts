import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { HubFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { type DeviceAsk, newDeviceId, nextAsk, registerDevice, reply } from "./device-client";
import { cleanupIdleWorkspaces } from "../workspaces/scheduled";

// Local stays local (issue #26): a device's `cloudBackup` (PATCH/GET), where a cleanup keeps a
// workspace (`keep`), the grant that cannot upload without backup, `state: "snapshot"`, the
// restore from the device's own snapshot, and a move that needs the origin device.

type Execute = Extract<HubFrame, { type: "task:execute" }>;
type Cleanup = DeviceAsk<"workspace.cleanup">;
const BASE = "http://wegent.test";

async function taskOnDevice() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  const res = await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "hi" } });
  expect(res.status).toBe(201);
  const taskId = (res.body as { task: { id: string } }).task.id;
  await reply(socket, (await socket.next("task:execute")) as Execute, "done", "session-1");
  return { user, token, deviceId, socket, taskId };
}

/** Starts an upload with the grant the device got: 201, or the refusal. */
const startUpload = (grant: string, taskId: string) =>
  SELF.fetch(`${BASE}/api/devices/archives/${taskId}/uploads`, {
    method: "POST",
    headers: { Authorization: `Bearer ${grant}` },
    body: "{}",
  });

describe("cloud backup of a device's workspaces", () => {
  it("is off by default; PATCH turns it on and off; GET shows it; bad bodies are 400", async () => {
    const { user, deviceId } = await taskOnDevice();
    const device = (path: string) => call("GET", path, { cookie: user.cookie });
    const listed = (await device("/api/devices")).body as {
      devices: { id: string; cloudBackup: boolean }[];
    };
    expect(listed.devices.find((d) => d.id === deviceId)?.cloudBackup).toBe(false);

    const on = await call("PATCH", `/api/devices/${deviceId}`, {
      cookie: user.cookie,
      body: { cloudBackup: true },
    });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ device: { id: deviceId, cloudBackup: true } });
    expect((await device(`/api/devices/${deviceId}`)).body).toMatchObject({
      device: { cloudBackup: true },
    });
    // A rename leaves it as it is; both at once work too.
    const renamed = await call("PATCH", `/api/devices/${deviceId}`, {
      cookie: user.cookie,
      body: { name: "Laptop" },
    });
    expect(renamed.body).toMatchObject({ device: { name: "Laptop", cloudBackup: true } });
    const both = await call("PATCH", `/api/devices/${deviceId}`, {
      cookie: user.cookie,
      body: { name: "Desk", cloudBackup: false },
    });
    expect(both.body).toMatchObject({ device: { name: "Desk", cloudBackup: false } });

    for (const body of [
      {},
      { cloudBackup: "true" },
      { cloudBackup: 1 },
      { cloudBackup: null },
      { cloudBackup: true, backup: true },
      [],
    ]) {
      expectError(
        await call("PATCH", `/api/devices/${deviceId}`, { cookie: user.cookie, body }),
        400,
      );
    }
    expectError(
      await call("PATCH", `/api/devices/${deviceId}`, { cookie: user.cookie, rawBody: "{" }),
      400,
    );
    const listedAfter = (await device("/api/devices")).body as {
      devices: { id: string; cloudBackup: boolean }[];
    };
    expect(listedAfter.devices.find((d) => d.id === deviceId)?.cloudBackup).toBe(false);
    // Another user's device: not found, and unchanged.
    const stranger = await signUp();
    expectError(
      await call("PATCH", `/api/devices/${deviceId}`, {
        cookie: stranger.cookie,
        body: { cloudBackup: true },
      }),
      404,
    );
  });

  it("without backup a cleanup keeps workspaces on the device: its grant cannot upload, the task shows `snapshot`, a follow-up restores there", async () => {
    const { user, deviceId, socket, taskId } = await taskOnDevice();
    const asked = call("POST", `/api/devices/${deviceId}/cleanup`, {
      cookie: user.cookie,
      body: { olderThanHours: 0, dryRun: false },
    });
    const frame = (await nextAsk(socket, "workspace.cleanup")) as Cleanup;
    expect(frame.keep).toBe("device");
    // Even an executor that ignored `keep` could not put anything in R2 with this grant.
    const refused = await startUpload(frame.grant, taskId);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      "upload_not_allowed",
    );
    const entry = { taskId, bytes: 10, idleHours: 30, outcome: "removed", reason: null };
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: {
        kind: "cleanup",
        report: { totalBytes: 10, workspaces: 1, entries: [{ ...entry, snapshot: true }] },
      },
    });
    expect((await asked).status).toBe(200);
    const ws = await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: user.cookie });
    expect(ws.body).toMatchObject({ state: "snapshot", archive: null, deviceId });
    expect((ws.body as { snapshotAt: string | null }).snapshotAt).toMatch(/^\d{4}-/);
    const listed = await env.ARCHIVES.list({ prefix: `archives/${user.id}/${taskId}/` });
    expect(listed.objects).toEqual([]);

    // The follow-up: the device lays the snapshot out again (nothing downloaded), then runs.
    const followUp = call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "and now?" },
    });
    const restore = await nextAsk(socket, "workspace.restore_snapshot");
    expect(restore).toMatchObject({ taskId });
    socket.send({
      type: "device:response",
      requestId: (restore as { requestId: string }).requestId,
      ok: true,
      result: { kind: "restored", files: 3, place: "worktree" },
    });
    const e = (await socket.next("task:execute")) as Execute;
    expect(e.resumeSessionId ?? null).toBe("session-1");
    await reply(socket, e, "back", "session-1");
    expect((await followUp).status).toBe(201);
    const after = await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: user.cookie });
    expect(after.body).toMatchObject({ state: "on_device", snapshotAt: null });
  });

  it("a task kept only on an offline device does not move (409 workspace_on_device); with backup on, a cleanup may upload", async () => {
    const { user, token, deviceId, socket, taskId } = await taskOnDevice();
    const asked = call("POST", `/api/devices/${deviceId}/cleanup`, {
      cookie: user.cookie,
      body: { olderThanHours: 0, dryRun: false },
    });
    const frame = (await nextAsk(socket, "workspace.cleanup")) as Cleanup;
    const entry = { taskId, bytes: 1, idleHours: 30, outcome: "removed", reason: null };
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: {
        kind: "cleanup",
        report: { totalBytes: 1, workspaces: 1, entries: [{ ...entry, snapshot: true }] },
      },
    });
    await asked;
    const otherId = newDeviceId();
    await registerDevice(token, otherId);
    socket.close();
    const moved = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "continue there", target: { deviceId: otherId } },
    });
    expectError(moved, 409, "workspace_on_device");
    expect((moved.body as { error: { message: string } }).error.message).toContain(deviceId);
    const detail = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
    expect((detail.body as { task: { deviceId: string } }).task.deviceId).toBe(deviceId);

    // The owner turns backup on: the cleanup's grant may upload.
    const user2 = await taskOnDevice();
    await call("PATCH", `/api/devices/${user2.deviceId}`, {
      cookie: user2.user.cookie,
      body: { cloudBackup: true },
    });
    const again = call("POST", `/api/devices/${user2.deviceId}/cleanup`, {
      cookie: user2.user.cookie,
      body: { olderThanHours: 0, dryRun: false },
    });
    const withBackup = (await nextAsk(user2.socket, "workspace.cleanup")) as Cleanup;
    expect(withBackup.keep).toBe("cloud");
    expect((await startUpload(withBackup.grant, user2.taskId)).status).toBe(201);
    user2.socket.send({
      type: "device:response",
      requestId: withBackup.requestId,
      ok: true,
      result: { kind: "cleanup", report: { totalBytes: 0, workspaces: 0, entries: [] } },
    });
    expect((await again).status).toBe(200);
  });

  it("the hourly trigger asks a local device without backup to keep its workspaces on the device", async () => {
    const { socket } = await taskOnDevice();
    const ran = cleanupIdleWorkspaces(env, { timeoutMs: 2_000 });
    const frame = (await nextAsk(socket, "workspace.cleanup", 10_000)) as Cleanup;
    expect(frame).toMatchObject({ dryRun: false, keep: "device" });
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: { kind: "cleanup", report: { totalBytes: 0, workspaces: 0, entries: [] } },
    });
    await ran;
  }, 15_000);
});
