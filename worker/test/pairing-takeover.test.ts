import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PairingDetails, PairingPoll, PairingStarted } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { eventually, newDeviceId, registerDevice } from "./device-client";

// Issue #26, finding 2: a pairing that names one of the approver's device ids must never take
// that device over. It is refused (409 device_exists) unless the approver confirms replacing an
// OFFLINE device; a connected device can never be named (409 device_online).

let ip = 0;
async function start(deviceId = newDeviceId(), extra: Record<string, unknown> = {}) {
  ip += 1;
  const res = await call("POST", "/api/pairings/start", {
    body: { deviceId, name: "Stranger's box", platform: "linux-x64", version: "0.9.9", ...extra },
    headers: { "CF-Connecting-IP": `203.0.113.${100 + ip}`, Origin: "" },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...PairingStarted.parse(res.body), deviceId, address: `203.0.113.${100 + ip}` };
}

const poll = (pairingId: string, secret: string) =>
  call("GET", `/api/pairings/${pairingId}`, { token: secret });

/** One of `owner`'s devices, connected through a device token's credential. */
async function ownDevice(owner: { cookie: string; id: string; username: string }) {
  const deviceId = newDeviceId();
  const token = await createToken(owner, { name: "laptop", scope: "device" });
  const exchanged = await call("POST", "/api/devices/credential", {
    token: token.token,
    headers: { "X-Device-Id": deviceId },
  });
  expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
  const credential = (exchanged.body as { credential: string }).credential;
  const { socket } = await registerDevice(credential, deviceId);
  return { deviceId, credential, socket };
}

/** After the socket closed: the hub first says `reconnecting` (its grace), then `offline`. */
async function markOffline(ownerId: string, deviceId: string) {
  await eventually(async () => {
    const row = await env.DB.prepare(
      "SELECT status FROM devices WHERE owner_id = ? AND device_id = ?",
    )
      .bind(ownerId, deviceId)
      .first<{ status: string }>();
    return row?.status === "reconnecting";
  });
  await env.DB.prepare("UPDATE devices SET status = 'offline' WHERE owner_id = ? AND device_id = ?")
    .bind(ownerId, deviceId)
    .run();
}

describe("pairing never takes over a device", () => {
  it("shows the approver the device, its version and the requesting address before the click", async () => {
    const owner = await signUp();
    const p = await start();
    const res = await call("GET", `/api/pairings/code/${p.code}`, { cookie: owner.cookie });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(PairingDetails.parse(res.body)).toEqual({
      code: p.code,
      deviceId: p.deviceId,
      name: "Stranger's box",
      platform: "linux-x64",
      version: "0.9.9",
      address: p.address,
      expiresAt: p.expiresAt,
      existing: null,
    });
    expectError(await call("GET", `/api/pairings/code/${p.code}`), 401);
    expectError(
      await call("GET", "/api/pairings/code/ABCD-EFGH", { cookie: owner.cookie }),
      404,
      "pairing_not_found",
    );
    expectError(
      await call("GET", "/api/pairings/code/AB", { cookie: owner.cookie }),
      400,
      "invalid_path",
    );
  });

  it("refuses a code naming one of your online devices, even with replaceDevice", async () => {
    const owner = await signUp();
    const mine = await ownDevice(owner);
    const p = await start(mine.deviceId);
    const details = PairingDetails.parse(
      (await call("GET", `/api/pairings/code/${p.code}`, { cookie: owner.cookie })).body,
    );
    expect(details.existing?.status).not.toBe("offline");
    for (const body of [{ code: p.code }, { code: p.code, replaceDevice: true }]) {
      expectError(
        await call("POST", "/api/pairings", { cookie: owner.cookie, body }),
        409,
        "device_online",
      );
    }
    // Nothing happened to the real device: its credential still rotates, its socket is open.
    expect(mine.socket.closed).toBeNull();
    const rotated = await call("POST", "/api/devices/credential", {
      token: mine.credential,
      headers: { "X-Device-Id": mine.deviceId },
    });
    expect(rotated.status).toBe(200);
    expect(PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body).state).toBe("pending");
    mine.socket.close();
  });

  it("refuses an offline device's id unless the owner confirms replacing it", async () => {
    const owner = await signUp();
    const mine = await ownDevice(owner);
    mine.socket.close();
    await markOffline(owner.id, mine.deviceId);
    const p = await start(mine.deviceId);
    const details = PairingDetails.parse(
      (await call("GET", `/api/pairings/code/${p.code}`, { cookie: owner.cookie })).body,
    );
    expect(details.existing).toMatchObject({ status: "offline" });
    expect(details.existing?.lastSeenAt).toEqual(expect.any(String));
    const refused = await call("POST", "/api/pairings", {
      cookie: owner.cookie,
      body: { code: p.code },
    });
    expectError(refused, 409, "device_exists");
    expect(JSON.stringify(refused.body)).toContain("replaceDevice");
    expect(PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body).state).toBe("pending");
    // Confirmed: the new executor gets the device; the old credentials are gone.
    const approved = await call("POST", "/api/pairings", {
      cookie: owner.cookie,
      body: { code: p.code, replaceDevice: true },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const got = PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body);
    expect(got.state).toBe("approved");
    expectError(
      await call("POST", "/api/devices/credential", {
        token: mine.credential,
        headers: { "X-Device-Id": mine.deviceId },
      }),
      401,
      "credential_revoked",
    );
  });

  it("re-checks at the poll: a device that came online after the approval is not taken over", async () => {
    const owner = await signUp();
    const mine = await ownDevice(owner);
    mine.socket.close();
    await markOffline(owner.id, mine.deviceId);
    const p = await start(mine.deviceId);
    const approved = await call("POST", "/api/pairings", {
      cookie: owner.cookie,
      body: { code: p.code, replaceDevice: true },
    });
    expect(approved.status).toBe(200);
    // The real executor reconnects before the stranger's poll.
    const again = await registerDevice(mine.credential, mine.deviceId);
    await eventually(async () => {
      const row = await env.DB.prepare(
        "SELECT status FROM devices WHERE owner_id = ? AND device_id = ?",
      )
        .bind(owner.id, mine.deviceId)
        .first<{ status: string }>();
      return row?.status !== "offline";
    });
    expectError(await poll(p.pairingId, p.pollSecret), 409, "device_online");
    expectError(await poll(p.pairingId, p.pollSecret), 410, "pairing_used");
    expect(again.socket.closed).toBeNull();
    again.socket.close();
  });

  it("another user's device with the same id is not yours: pairing it is a new device", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const hers = await ownDevice(alice);
    const p = await start(hers.deviceId);
    const approved = await call("POST", "/api/pairings", {
      cookie: bob.cookie,
      body: { code: p.code },
    });
    expect(approved.status).toBe(200);
    expect(PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body).state).toBe("approved");
    // Alice's device is untouched.
    expect(hers.socket.closed).toBeNull();
    hers.socket.close();
  });

  it("limits the start body in UTF-8 bytes", async () => {
    const tooLong = [
      { version: "v".repeat(65) },
      { name: "€".repeat(67) }, // 201 bytes, 67 characters
      { platform: "é".repeat(51) }, // 102 bytes
    ];
    for (const extra of tooLong) {
      const res = await call("POST", "/api/pairings/start", {
        body: { deviceId: newDeviceId(), name: "x", platform: "linux-x64", ...extra },
        headers: { "CF-Connecting-IP": "203.0.113.250" },
      });
      expectError(res, 400, "invalid_body");
    }
    // An executor from before the version was sent still pairs.
    const res = await call("POST", "/api/pairings/start", {
      body: { deviceId: newDeviceId(), name: "€".repeat(66), platform: "linux-x64" },
      headers: { "CF-Connecting-IP": "203.0.113.251" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});
