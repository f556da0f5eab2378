import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createToken, expectError, signUp } from "./helpers";
import type { HubFrame } from "@wegent/protocol";
import { type DeviceSocket, newDeviceId, registerDevice } from "./device-client";

type Request = Extract<HubFrame, { type: "device:request" }>;

const RESULT = {
  exitCode: 0,
  stdout: "hello; echo hacked\n",
  stderr: "",
  timedOut: false,
  truncated: false,
  durationMs: 7,
};

/** Answers the next `command.run` request the way the executor would. */
async function answer(socket: DeviceSocket, body: unknown): Promise<Request> {
  const request = (await socket.next("device:request")) as Request;
  socket.send({ type: "device:response", requestId: request.requestId, ok: true, result: body });
  return request;
}

async function commandDevice() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId, {
    extra: { commands: [{ key: "echo", argv: ["echo"], timeoutSec: 5 }] },
  });
  return { user, deviceId, socket };
}

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
    const anonymous = await call("POST", `/api/devices/${deviceId}/commands`, {
      body: { key: "runtime.info" },
    });
    expectError(anonymous, 401);
    expectError(await call("GET", `/api/devices/${deviceId}/audit`), 401);
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

describe("command RPC through the hub", () => {
  it("runs a command on the device, answers its result and audits it", async () => {
    const { user, deviceId, socket } = await commandDevice();
    const device = await call("GET", `/api/devices/${deviceId}`, { cookie: user.cookie });
    expect((device.body as { device: { commands: unknown } }).device.commands).toEqual([
      { key: "echo", argv: ["echo"], timeoutSec: 5 },
    ]);
    const pending = run(user.cookie, deviceId, {
      key: "echo",
      args: { argv: ["hello; echo hacked"] },
    });
    const request = await answer(socket, { ok: true, result: RESULT });
    expect(request.method).toBe("command.run");
    expect(request.params).toEqual({
      key: "echo",
      args: { argv: ["hello; echo hacked"] },
      taskId: null,
    });
    const res = await pending;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual(RESULT);

    const audit = await call("GET", `/api/devices/${deviceId}/audit`, { cookie: user.cookie });
    const entries = (audit.body as { entries: Record<string, unknown>[] }).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      key: "echo",
      userId: user.id,
      username: user.username,
      outcome: "ok",
      exitCode: 0,
      durationMs: 7,
      bytes: 19,
    });
    expect(entries[0]?.argsDigest).toMatch(/^[0-9a-f]{64}$/);
    socket.close();
  });

  it("passes the executor's refusal on with the same code", async () => {
    const { user, deviceId, socket } = await commandDevice();
    const pending = run(user.cookie, deviceId, { key: "runtime.info" });
    await answer(socket, { ok: false, code: "command_unknown", message: "no such key here" });
    expectError(await pending, 400, "command_unknown");
    socket.close();
  });

  it("answers 429 for the 5th command at once, and takes no task slot", async () => {
    const { user, deviceId, socket } = await commandDevice();
    const first = [0, 1, 2, 3].map(() => run(user.cookie, deviceId, { key: "runtime.info" }));
    const requests: Request[] = [];
    for (let i = 0; i < 4; i++) requests.push((await socket.next("device:request")) as Request);
    expectError(
      await run(user.cookie, deviceId, { key: "runtime.info" }),
      429,
      "too_many_commands",
    );
    const listed = await call("GET", `/api/devices/${deviceId}`, { cookie: user.cookie });
    expect((listed.body as { device: { slotsUsed: number } }).device.slotsUsed).toBe(0);
    for (const request of requests) {
      socket.send({
        type: "device:response",
        requestId: request.requestId,
        ok: true,
        result: { ok: true, result: RESULT },
      });
    }
    for (const res of await Promise.all(first)) expect(res.status).toBe(200);
    // Once they finished, a new one may run.
    const again = run(user.cookie, deviceId, { key: "runtime.info" });
    await answer(socket, { ok: true, result: RESULT });
    expect((await again).status).toBe(200);
    socket.close();
  });

  it("answers 504 naming the device when it does not answer within 10 s", async () => {
    const { user, deviceId, socket } = await commandDevice();
    const started = Date.now();
    const res = await run(user.cookie, deviceId, { key: "runtime.info" });
    expectError(res, 504, "device_timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    expect((res.body as { error: { message: string } }).error.message).toContain(
      `Linux - ${deviceId.slice(0, 8)}`,
    );
    const audit = await call("GET", `/api/devices/${deviceId}/audit`, { cookie: user.cookie });
    expect((audit.body as { entries: { outcome: string }[] }).entries[0]?.outcome).toBe("timeout");
    socket.close();
  }, 20_000);
});

describe("command audit: a bounded history per device", () => {
  it("keeps the newest 1,000 rows of a device and none older than 90 days", async () => {
    const { user, deviceId, socket } = await commandDevice();
    const other = await commandDevice();
    const old = new Date(Date.now() - 91 * 24 * 60 * 60 * 1000).toISOString();
    const recent = new Date(Date.now() - 89 * 24 * 60 * 60 * 1000).toISOString();
    // 1,200 rows of earlier commands: the first one 91 days old, the rest recent.
    const seed = (owner: string, device: string, n: number, at: string) =>
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
         INSERT INTO command_audit (owner_id, device_id, user_id, key, args_digest, outcome, expires_at, created_at)
         SELECT ?1, ?2, ?1, 'echo', 'x', 'ok', 0, ?4 FROM n`,
      )
        .bind(owner, device, n, at)
        .run();
    await seed(user.id, deviceId, 1, old);
    await seed(user.id, deviceId, 1199, recent);
    await seed(other.user.id, other.deviceId, 1, old);
    const count = async (owner: string, device: string) =>
      (await env.DB.prepare(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM command_audit WHERE owner_id = ? AND device_id = ?",
      )
        .bind(owner, device)
        .first<{ n: number; oldest: string }>())!;
    expect((await count(user.id, deviceId)).n).toBe(1200);

    const pending = run(user.cookie, deviceId, { key: "echo", args: { argv: ["hi"] } });
    await answer(socket, { ok: true, result: RESULT });
    expect((await pending).status).toBe(200);
    const after = await count(user.id, deviceId);
    expect(after.n).toBe(1000);
    expect(after.oldest).toBe(recent);
    const audit = await call("GET", `/api/devices/${deviceId}/audit?limit=1`, {
      cookie: user.cookie,
    });
    expect(
      (audit.body as { entries: { args?: unknown; outcome: string }[] }).entries[0],
    ).toMatchObject({ outcome: "ok" });
    // Another device's history is its own: pruned only when it runs a command.
    expect((await count(other.user.id, other.deviceId)).n).toBe(1);
    socket.close();
    other.socket.close();
  });
});
