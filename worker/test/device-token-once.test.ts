import { CloseCode } from "@wegent/protocol";
import { describe, expect, it } from "vitest";
import { call, createToken, expectError, signUp, type Call } from "./helpers";
import { eventually, newDeviceId, openDevice, registerDevice } from "./device-client";

// Issue #26, finding 5: a device token is worth ONE exchange for a device credential. Used
// again (to exchange or to connect), two parties held it: 401 token_used, and the device's
// credentials are revoked with a `token_reuse` event for the owner.

const exchange = (secret: string, deviceId: string): Promise<Call> =>
  call("POST", "/api/devices/credential", {
    token: secret,
    headers: { "X-Device-Id": deviceId },
  });

async function securityEvent(cookie: string, deviceId: string) {
  const list = await call("GET", "/api/devices", { cookie });
  const devices = (list.body as { devices: { id: string; securityEvent?: unknown }[] }).devices;
  return devices.find((d) => d.id === deviceId)?.securityEvent ?? null;
}

describe("a device token is used up by its first exchange", () => {
  it("a second exchange is 401 token_used, revokes the running executor's credential and tells the owner", async () => {
    const user = await signUp();
    const token = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const first = await exchange(token.token, id);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const c1 = (first.body as { credential: string }).credential;
    const { socket } = await registerDevice(c1, id);

    const again = await exchange(token.token, id);
    expectError(again, 401, "token_used");
    await eventually(() => socket.closed, 3_000, "socket closed");
    expect(socket.closed?.code).toBe(CloseCode.tokenRevoked);
    expectError(await exchange(c1, id), 401, "credential_revoked");
    expect(await securityEvent(user.cookie, id)).toMatchObject({ kind: "token_reuse" });
    // And it stays used: no fresh family, ever.
    expectError(await exchange(token.token, id), 401, "token_used");
  });

  it("a device replaced by a pairing since keeps its new credential when the old token shows up", async () => {
    const user = await signUp();
    const token = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    expect((await exchange(token.token, id)).status).toBe(200);
    // The owner re-paired this device (its old credentials were revoked by the new family).
    const start = await call("POST", "/api/pairings/start", {
      body: { deviceId: id, name: "laptop", platform: "linux-x64" },
      headers: { "CF-Connecting-IP": "203.0.113.77" },
    });
    const { code, pairingId, pollSecret } = start.body as {
      code: string;
      pairingId: string;
      pollSecret: string;
    };
    expect(
      (await call("POST", "/api/pairings", { cookie: user.cookie, body: { code } })).status,
    ).toBe(200);
    const polled = await call("GET", `/api/pairings/${pairingId}`, { token: pollSecret });
    const paired = (polled.body as { credential: string }).credential;
    expectError(await exchange(token.token, id), 401, "token_used");
    expect((await exchange(paired, id)).status).toBe(200);
  });

  it("connecting with an exchanged token is refused too", async () => {
    const user = await signUp();
    const token = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    expect((await exchange(token.token, id)).status).toBe(200);
    const refused = await openDevice(token.token, id);
    expect(refused.socket).toBeNull();
    expect(refused.status).toBe(401);
    expect((refused.body as { error: { code: string } }).error.code).toBe("token_used");
  });

  it("two racing exchanges: exactly one credential", async () => {
    const user = await signUp();
    const token = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const results = await Promise.all([exchange(token.token, id), exchange(token.token, id)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it("a device token never exchanged still connects directly (executors from before credentials)", async () => {
    const user = await signUp();
    const token = await createToken(user, { name: "laptop", scope: "device" });
    const id = newDeviceId();
    const { socket } = await registerDevice(token.token, id);
    expect(socket.closed).toBeNull();
    socket.close();
    // …and may still be exchanged once.
    expect((await exchange(token.token, id)).status).toBe(200);
  });

  it("an account (user) token is not a device token: it may start families again", async () => {
    const user = await signUp();
    const script = await createToken(user, { name: "script", scope: "user" });
    const id = newDeviceId();
    expect((await exchange(script.token, id)).status).toBe(200);
    expect((await exchange(script.token, id)).status).toBe(200);
  });
});
