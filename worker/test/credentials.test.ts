import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CloseCode, DeviceCredential } from "@wegent/protocol";
import { call, createToken, expectError, signUp, type Call } from "./helpers";
import { eventually, newDeviceId, openDevice, registerDevice } from "./device-client";

/** POST /api/devices/credential the way the executor does. */
async function exchange(secret: string, deviceId: string): Promise<Call> {
  return call("POST", "/api/devices/credential", {
    token: secret,
    headers: { "X-Device-Id": deviceId },
  });
}

async function credentialOf(secret: string, deviceId: string): Promise<string> {
  const res = await exchange(secret, deviceId);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const parsed = DeviceCredential.parse(res.body);
  expect(parsed.deviceId).toBe(deviceId);
  return parsed.credential;
}

describe("device tokens and device credentials", () => {
  it("a device token opens connect and the exchange only: 403 token_scope everywhere else", async () => {
    const user = await signUp();
    const device = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const credential = await credentialOf(device.token, id);
    expect(credential).toMatch(/^wdc_/);
    for (const secret of [device.token, credential]) {
      expectError(await call("GET", "/api/tasks", { token: secret }), 403, "token_scope");
      expectError(
        await call("POST", "/api/tasks", { token: secret, body: { message: "rm -rf ~" } }),
        403,
        "token_scope",
      );
      expectError(await call("GET", "/api/devices", { token: secret }), 403, "token_scope");
      expectError(await call("GET", "/api/auth/me", { token: secret }), 403, "token_scope");
      expectError(await call("GET", "/api/tokens", { token: secret }), 403, "token_scope");
      expectError(
        await call("POST", "/api/pairings", { token: secret, body: { code: "ABCD-EFGH" } }),
        403,
        "token_scope",
      );
      const live = await SELF.fetch("http://wegent.test/api/live", {
        headers: { Upgrade: "websocket", Authorization: `Bearer ${secret}` },
      });
      expect(live.status).toBe(403);
    }
    // …and the credential connects its device.
    const { socket } = await registerDevice(credential, id);
    expect(socket.closed).toBeNull();
    socket.close();
  });

  it("binds a device token, and a credential, to the first device id", async () => {
    const user = await signUp();
    const device = await createToken(user, { name: "laptop", scope: "device" });
    const first = newDeviceId();
    const other = newDeviceId();
    const credential = await credentialOf(device.token, first);
    expectError(await exchange(device.token, other), 403, "token_bound");
    const refused = await openDevice(device.token, other);
    expect(refused.socket).toBeNull();
    expect(refused.status).toBe(403);
    expect((refused.body as { error: { code: string } }).error.code).toBe("token_bound");
    expectError(await exchange(credential, other), 403, "token_bound");
    const byCredential = await openDevice(credential, other);
    expect(byCredential.status).toBe(403);
    const row = await env.DB.prepare("SELECT bound_device_id FROM api_tokens WHERE id = ?")
      .bind(device.id)
      .first<{ bound_device_id: string }>();
    expect(row?.bound_device_id).toBe(first);
    // A user token (scripts, pasted tokens of old) still connects any device of its owner.
    const script = await createToken(user, { name: "script", scope: "user" });
    await credentialOf(script.token, other);
  });

  it("an operator (cloud) token binds to the first pool executor", async () => {
    const admin = await signUp();
    await env.DB.prepare("UPDATE users SET is_admin = 1 WHERE id = ?").bind(admin.id).run();
    const op = await createToken(admin, { name: "pool", scope: "cloud" });
    const first = newDeviceId();
    const res = await exchange(op.token, first);
    expect(res.status).toBe(200);
    expect((res.body as { deviceType: string }).deviceType).toBe("cloud");
    expectError(await exchange(op.token, newDeviceId()), 403, "token_bound");
    const rogue = await openDevice(op.token, newDeviceId());
    expect(rogue.status).toBe(403);
  });

  it("rotates at every exchange; a rotated-out credential used again revokes the device", async () => {
    const user = await signUp();
    const device = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const c1 = await credentialOf(device.token, id);
    // Exchange c1 (current) → c2 (pending); c1 still valid until c2 is used.
    const c2 = await credentialOf(c1, id);
    expect(c2).not.toBe(c1);
    // Using c2 promotes it and retires c1.
    const { socket } = await registerDevice(c2, id);
    // A thief replays c1: refused, the family revoked, the socket closed, the owner told.
    expectError(await exchange(c1, id), 401, "credential_reused");
    await eventually(() => socket.closed, 3_000, "socket closed");
    expect(socket.closed?.code).toBe(CloseCode.tokenRevoked);
    expectError(await exchange(c2, id), 401, "credential_revoked");
    expect((await openDevice(c2, id)).status).toBe(401);
    const list = await call("GET", "/api/devices", { cookie: user.cookie });
    const listed = (list.body as { devices: { id: string; securityEvent?: unknown }[] }).devices;
    expect(listed.find((d) => d.id === id)?.securityEvent).toMatchObject({
      kind: "credential_reuse",
    });
  });

  it("a crash between the answer and the write is harmless; a replaced pending is reuse", async () => {
    const user = await signUp();
    const device = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const c1 = await credentialOf(device.token, id);
    const lost = await credentialOf(c1, id); // answer lost: executor still holds c1
    const c2 = await credentialOf(c1, id); // replaces `lost` as the pending one
    const c3 = await credentialOf(c2, id); // c2 promoted, c1 retired, c3 pending
    const { socket } = await registerDevice(c3, id);
    socket.close();
    expectError(await exchange(lost, id), 401, "credential_reused");
  });

  it("revoking the token revokes the credentials it started and closes the socket", async () => {
    const user = await signUp();
    const device = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const c1 = await credentialOf(device.token, id);
    const { socket } = await registerDevice(c1, id);
    const revoked = await call("DELETE", `/api/tokens/${device.id}`, { cookie: user.cookie });
    expect(revoked.status).toBe(200);
    await eventually(() => socket.closed, 1_000, "socket closed within 1 s");
    expectError(await exchange(c1, id), 401, "credential_revoked");
  });

  it("removing the device revokes its credentials and the tokens bound to it", async () => {
    const user = await signUp();
    const device = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const c1 = await credentialOf(device.token, id);
    const { socket } = await registerDevice(c1, id);
    const removed = await call("DELETE", `/api/devices/${id}?force=true`, { cookie: user.cookie });
    expect(removed.status).toBe(200);
    await eventually(() => socket.closed, 2_000, "socket closed");
    expectError(await exchange(c1, id), 401, "credential_revoked");
    expectError(await exchange(device.token, id), 401, "token_revoked");
  });

  it("refuses malformed and forged credentials", async () => {
    const id = newDeviceId();
    expectError(await exchange("wdc_nope", id), 401, "invalid_credential");
    expectError(
      await exchange(`wdc_${crypto.randomUUID()}.${"A".repeat(43)}`, id),
      401,
      "invalid_credential",
    );
    const res = await call("POST", "/api/devices/credential", { token: "wdc_x" });
    expectError(res, 400, "invalid_device_id");
  });
});
