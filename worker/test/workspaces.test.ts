import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { HubFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { type DeviceAsk, newDeviceId, nextAsk, registerDevice, reply } from "./device-client";
import { mintGrant } from "../workspaces/grant";
import worker from "../index";
import { cleanupIdleWorkspaces } from "../workspaces/scheduled";

type Execute = Extract<HubFrame, { type: "task:execute" }>;
type ArchiveAsk = DeviceAsk<"workspace.archive">;
const BASE = "http://wegent.test";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A user with a connected fake device and one finished task on it. */
async function taskOnDevice() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  const res = await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "hi" } });
  expect(res.status).toBe(201);
  const taskId = (res.body as { task: { id: string } }).task.id;
  const e = (await socket.next("task:execute")) as Execute;
  await reply(socket, e, "done", "session-1");
  return { user, token, deviceId, socket, taskId };
}

/** What the executor does with a grant: multipart upload, then complete with the checksum. */
async function upload(grant: string, taskId: string, bytes: Uint8Array, sha256?: string) {
  const auth = { Authorization: `Bearer ${grant}` };
  const base = `${BASE}/api/devices/archives/${taskId}`;
  const started = await SELF.fetch(`${base}/uploads`, {
    method: "POST",
    headers: auth,
    body: "{}",
  });
  if (started.status !== 201) return started;
  const { uploadId, nonce } = (await started.json()) as { uploadId: string; nonce: string };
  const part = await SELF.fetch(`${base}/uploads/${uploadId}/parts/1?nonce=${nonce}`, {
    method: "PUT",
    headers: { ...auth, "Content-Length": String(bytes.length) },
    body: bytes,
  });
  expect(part.status).toBe(200);
  const { etag } = (await part.json()) as { etag: string };
  return SELF.fetch(`${base}/uploads/${uploadId}/complete?nonce=${nonce}`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({
      parts: [{ partNumber: 1, etag }],
      sha256: sha256 ?? (await sha256Hex(bytes)),
      size: bytes.length,
      files: 1,
    }),
  });
}

describe("workspace archives", () => {
  it("archives through the hub and R2, reports the workspace, and downloads for the owner only", async () => {
    const { user, socket, taskId } = await taskOnDevice();
    const before = await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: user.cookie });
    expect(before.body).toMatchObject({ state: "on_device", archive: null });

    const asked = call("POST", `/api/tasks/${taskId}/archive`, { cookie: user.cookie });
    const frame = (await nextAsk(socket, "workspace.archive")) as ArchiveAsk;
    expect(frame.taskId).toBe(taskId);
    // The task's own sessions: a task run in a project directory archives only these.
    expect(frame.sessionIds).toEqual(["session-1"]);
    const bytes = new TextEncoder().encode("pretend this is a tar.gz ".repeat(1000));
    const done = await upload(frame.grant, taskId, bytes);
    expect(done.status).toBe(200);
    const archive = (await done.json()) as { sha256: string; size: number; createdAt: string };
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: { kind: "archived", archive },
    });
    const res = await asked;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      state: "on_device",
      archive: { size: bytes.length, sha256: await sha256Hex(bytes), files: 1 },
    });

    const download = await SELF.fetch(`${BASE}/api/tasks/${taskId}/workspace/download`, {
      headers: { Cookie: user.cookie },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Disposition")).toContain(".tar.gz");
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    // Another user: every workspace route is 404, never a hint that the task exists.
    const other = await signUp();
    expectError(await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: other.cookie }), 404);
    expectError(
      await call("GET", `/api/tasks/${taskId}/workspace/download`, { cookie: other.cookie }),
      404,
    );
    expectError(await call("POST", `/api/tasks/${taskId}/archive`, { cookie: other.cookie }), 404);
  });

  it("refuses an upload whose checksum does not match what R2 stored", async () => {
    const { deviceId, user, taskId } = await taskOnDevice();
    const grant = await mintGrant(env, { deviceOwnerId: user.id, deviceId });
    const res = await upload(grant, taskId, new Uint8Array([1, 2, 3]), "0".repeat(64));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("archive_corrupt");
    const state = await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: user.cookie });
    expect(state.body).toMatchObject({ archive: null });
  });

  it("refuses uploads from a device that does not hold the task, and bad grants", async () => {
    const { user, taskId } = await taskOnDevice();
    // Same owner, another device of theirs.
    const grant = await mintGrant(env, { deviceOwnerId: user.id, deviceId: newDeviceId() });
    const res = await upload(grant, taskId, new Uint8Array([1]));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "task_not_on_device",
    );
    const download = await SELF.fetch(`${BASE}/api/devices/archives/${taskId}`, {
      headers: { Authorization: `Bearer ${grant}` },
    });
    expect(download.status).toBe(403);
    // Another user's device: not found.
    const stranger = await signUp();
    const foreign = await mintGrant(env, { deviceOwnerId: stranger.id, deviceId: newDeviceId() });
    expect((await upload(foreign, taskId, new Uint8Array([1]))).status).toBe(404);
    // A user's API token is no grant.
    const { token } = await createToken(user);
    expect((await upload(token, taskId, new Uint8Array([1]))).status).toBe(401);
    expect((await upload("x.y.z", taskId, new Uint8Array([1]))).status).toBe(401);
  });

  it("answers 413 quota_exceeded once the user's archives fill the quota", async () => {
    const { user, deviceId, taskId, socket } = await taskOnDevice();
    // Another task of the same user already holds 5 GiB of archives.
    const second = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "b" },
    });
    const otherTask = (second.body as { task: { id: string } }).task.id;
    await reply(socket, (await socket.next("task:execute")) as Execute, "ok", "s2");
    await env.DB.prepare(
      "INSERT INTO task_workspaces (task_id, owner_id, device_id, archive_key, archive_size, archive_sha256, archive_files, archived_at, updated_at) VALUES (?, ?, ?, 'archives/x', ?, ?, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
      .bind(otherTask, user.id, deviceId, 5 * 1024 ** 3, "a".repeat(64))
      .run();
    const grant = await mintGrant(env, { deviceOwnerId: user.id, deviceId });
    const res = await upload(grant, taskId, new Uint8Array([1, 2]));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("quota_exceeded");

    // The device's own answer maps to the same 413 on the archive route.
    const asked = call("POST", `/api/tasks/${taskId}/archive`, { cookie: user.cookie });
    const frame = (await nextAsk(socket, "workspace.archive")) as ArchiveAsk;
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: { kind: "error", code: "quota_exceeded", message: "Archive storage is full." },
    });
    expectError(await asked, 413, "quota_exceeded");
  });

  it("relays a cleanup dry run to the device and validates its body", async () => {
    const { user, deviceId, socket, taskId } = await taskOnDevice();
    expectError(
      await call("POST", `/api/devices/${deviceId}/cleanup`, {
        cookie: user.cookie,
        body: { olderThanHours: -1, dryRun: true },
      }),
      400,
    );
    const asked = call("POST", `/api/devices/${deviceId}/cleanup`, {
      cookie: user.cookie,
      body: { olderThanHours: 24, dryRun: true },
    });
    const frame = await nextAsk(socket, "workspace.cleanup");
    expect(frame).toMatchObject({ olderThanHours: 24, dryRun: true });
    const kept = {
      taskId,
      bytes: 10,
      idleHours: 30,
      outcome: "kept",
      reason: "Not archived, so kept: upload refused",
    };
    const report = { totalBytes: 10, workspaces: 1, entries: [kept] };
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: { kind: "cleanup", report },
    });
    const res = await asked;
    expect(res.status).toBe(200);
    expect(res.body).toEqual(report);
    // The task shows that its workspace was kept, and why.
    const state = await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: user.cookie });
    expect(state.body).toMatchObject({
      state: "on_device",
      archiveError: "Not archived, so kept: upload refused",
    });
    const stranger = await signUp();
    expectError(
      await call("POST", `/api/devices/${deviceId}/cleanup`, {
        cookie: stranger.cookie,
        body: { olderThanHours: 1, dryRun: true },
      }),
      404,
    );
  });

  it("the hourly trigger asks connected devices to archive and remove idle workspaces", async () => {
    const { socket } = await taskOnDevice();
    expect(typeof worker.scheduled).toBe("function");
    // Devices of the other tests stay connected and never answer: they time out, in parallel.
    const ran = cleanupIdleWorkspaces(env, { timeoutMs: 2_000 });
    const frame = await nextAsk(socket, "workspace.cleanup", 10_000);
    expect(frame).toMatchObject({ olderThanHours: 24, dryRun: false });
    socket.send({
      type: "device:response",
      requestId: frame.requestId,
      ok: true,
      result: { kind: "cleanup", report: { totalBytes: 0, workspaces: 0, entries: [] } },
    });
    await ran;
  }, 15_000);

  it("a move to a device that went offline answers 409 device_offline and changes nothing", async () => {
    const { user, token, deviceId, socket, taskId } = await taskOnDevice();
    const otherId = newDeviceId();
    const { socket: other } = await registerDevice(token, otherId);
    other.close();
    const asked = call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "continue there", target: { deviceId: otherId } },
    });
    // Within the presence grace the device still looks online: the old device archives first.
    const first = await Promise.race([
      asked.then((res) => ({ res })),
      nextAsk(socket, "workspace.archive").then((frame) => ({ frame: frame as ArchiveAsk })),
    ]);
    if ("frame" in first) {
      const bytes = new TextEncoder().encode("archive ".repeat(100));
      const done = await upload(first.frame.grant, taskId, bytes);
      const archive = (await done.json()) as { sha256: string; size: number; createdAt: string };
      socket.send({
        type: "device:response",
        requestId: first.frame.requestId,
        ok: true,
        result: { kind: "archived", archive },
      });
    }
    const res = await asked;
    expectError(res, 409, "device_offline");
    if ("frame" in first) {
      expect((res.body as { error: { message: string } }).error.message).toContain("went offline");
    }
    const detail = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
    const body = detail.body as { task: { deviceId: string }; messages: unknown[] };
    expect(body.task.deviceId).toBe(deviceId);
    expect(body.messages).toHaveLength(2);
    const ws = await call("GET", `/api/tasks/${taskId}/workspace`, { cookie: user.cookie });
    expect(ws.body).toMatchObject({ state: "on_device", deviceId });
  });

  it("a new archive run aborts the multipart upload a dead run left open (no parts leak)", async () => {
    const { user, deviceId, taskId } = await taskOnDevice();
    const grant = await mintGrant(env, { deviceOwnerId: user.id, deviceId });
    const auth = { Authorization: `Bearer ${grant}` };
    const base = `${BASE}/api/devices/archives/${taskId}`;
    const start = async () => {
      const res = await SELF.fetch(`${base}/uploads`, {
        method: "POST",
        headers: auth,
        body: "{}",
      });
      expect(res.status).toBe(201);
      return (await res.json()) as { uploadId: string; nonce: string };
    };
    const part = (u: { uploadId: string; nonce: string }, n: number, bytes: Uint8Array) =>
      SELF.fetch(`${base}/uploads/${u.uploadId}/parts/${n}?nonce=${u.nonce}`, {
        method: "PUT",
        headers: { ...auth, "Content-Length": String(bytes.length) },
        body: bytes,
      });
    // The first run uploads a part, then its executor dies (no complete, no abort).
    const dead = await start();
    const bytes = new Uint8Array(5 * 1024 * 1024 + 1).fill(7);
    const first = await part(dead, 1, bytes);
    expect(first.status).toBe(200);
    const { etag } = (await first.json()) as { etag: string };
    const marker = `archives/${user.id}/${taskId}/upload-in-progress.json`;
    expect(await env.ARCHIVES.head(marker)).not.toBeNull();
    // After the restart the archive is asked again: the open upload is aborted first.
    const fresh = await start();
    expect(fresh.uploadId).not.toBe(dead.uploadId);
    const key = `archives/${user.id}/${taskId}/${dead.nonce}.tar.gz`;
    await expect(
      env.ARCHIVES.resumeMultipartUpload(key, dead.uploadId).complete([{ partNumber: 1, etag }]),
    ).rejects.toThrow();
    expect(await env.ARCHIVES.head(key)).toBeNull();
    // The fresh run completes normally and forgets its upload.
    const small = new TextEncoder().encode("fresh archive");
    const ok = await part(fresh, 1, small);
    const done = await SELF.fetch(
      `${base}/uploads/${fresh.uploadId}/complete?nonce=${fresh.nonce}`,
      {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({
          parts: [{ partNumber: 1, etag: ((await ok.json()) as { etag: string }).etag }],
          sha256: await sha256Hex(small),
          size: small.length,
          files: 1,
        }),
      },
    );
    expect(done.status).toBe(200);
    expect(await env.ARCHIVES.head(marker)).toBeNull();
  });

  it("a move to a project of another device is refused before anything is written", async () => {
    const { user, token, deviceId, taskId } = await taskOnDevice();
    const otherId = newDeviceId();
    const project = {
      id: "p_elsewhere01",
      name: "elsewhere",
      path: "/home/me/elsewhere",
      git: true,
      branch: "main",
      dirty: false,
    };
    await registerDevice(token, otherId, { extra: { projects: [project] } });
    const res = await call("POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.cookie,
      body: { message: "continue there", target: { deviceId: otherId, projectId: project.id } },
    });
    expectError(res, 400, "invalid_target");
    const detail = await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie });
    const body = detail.body as { task: { deviceId: string }; messages: unknown[] };
    expect(body.task.deviceId).toBe(deviceId);
    expect(body.messages).toHaveLength(2);
  });
});
