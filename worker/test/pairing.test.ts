import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PairingPoll, PairingStarted } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { newDeviceId, registerDevice } from "./device-client";

let ip = 0;
/** Each test starts pairings from its own client address (the limit is per address). */
function client(): Record<string, string> {
  ip += 1;
  return { "CF-Connecting-IP": `203.0.113.${ip}` };
}

async function start(deviceId = newDeviceId(), headers = client()) {
  const res = await call("POST", "/api/pairings/start", {
    body: { deviceId, name: "Alice's laptop", platform: "linux-x64", deviceType: "local" },
    headers: { ...headers, Origin: "" },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...PairingStarted.parse(res.body), deviceId };
}

const poll = (pairingId: string, secret: string) =>
  call("GET", `/api/pairings/${pairingId}`, { token: secret });

describe("pairing", () => {
  it("start → approve → exactly one poll gets a credential that connects the device", async () => {
    const owner = await signUp();
    const p = await start();
    expect(p.code).toMatch(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(p.approveUrl).toBe(`http://wegent.test/devices?pair=${p.code}`);
    const minutes = (Date.parse(p.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(9.9);
    expect(minutes).toBeLessThanOrEqual(10);

    expect(PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body).state).toBe("pending");
    expectError(await poll(p.pairingId, "wps_wrong"), 404, "pairing_not_found");

    const approved = await call("POST", "/api/pairings", {
      cookie: owner.cookie,
      body: { code: p.code.toLowerCase() },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toEqual({ deviceId: p.deviceId, name: "Alice's laptop" });

    const got = PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body);
    expect(got.state).toBe("approved");
    if (got.state !== "approved") return;
    expect(got.credential).toMatch(/^wdc_/);
    expect(got.deviceId).toBe(p.deviceId);
    expectError(await poll(p.pairingId, p.pollSecret), 410, "pairing_used");
    expectError(
      await call("POST", "/api/pairings", { cookie: owner.cookie, body: { code: p.code } }),
      409,
      "pairing_used",
    );
    const { socket, registered } = await registerDevice(got.credential, p.deviceId);
    expect(registered.type).toBe("device:registered");
    const devices = await call("GET", "/api/devices", { cookie: owner.cookie });
    expect(JSON.stringify(devices.body)).toContain(p.deviceId);
    socket.close();
  });

  it("unknown → 404, expired → 410; the poller sees the expiry too", async () => {
    const owner = await signUp();
    expectError(
      await call("POST", "/api/pairings", { cookie: owner.cookie, body: { code: "ABCD-EFGH" } }),
      404,
      "pairing_not_found",
    );
    expectError(
      await call("POST", "/api/pairings", { cookie: owner.cookie, body: { code: "ABC0-EFGH" } }),
      400,
      "invalid_body",
    );
    const p = await start();
    await env.DB.prepare("UPDATE pairings SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, p.pairingId)
      .run();
    expectError(
      await call("POST", "/api/pairings", { cookie: owner.cookie, body: { code: p.code } }),
      410,
      "pairing_expired",
    );
    expectError(await poll(p.pairingId, p.pollSecret), 410, "pairing_expired");
  });

  it("approving needs the signed-in owner (a session, never a token), from our own pages", async () => {
    const p = await start();
    expectError(await call("POST", "/api/pairings", { body: { code: p.code } }), 401);
    const owner = await signUp();
    const { token } = await createToken(owner);
    expectError(
      await call("POST", "/api/pairings", { token, body: { code: p.code } }),
      403,
      "session_required",
    );
    expect(PairingPoll.parse((await poll(p.pairingId, p.pollSecret)).body).state).toBe("pending");
    expectError(
      await call("POST", "/api/pairings", {
        cookie: owner.cookie,
        body: { code: p.code },
        headers: { Origin: "https://evil.example" },
      }),
      403,
      "cross_site",
    );
  });

  it("rate-limits starts per client address and approvals per user", async () => {
    const headers = client();
    for (let i = 0; i < 10; i++) await start(newDeviceId(), headers);
    const limited = await call("POST", "/api/pairings/start", {
      body: { deviceId: newDeviceId(), name: "x", platform: "linux-x64" },
      headers,
    });
    expectError(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another address is not affected.
    await start();

    const owner = await signUp();
    const results = [];
    for (let i = 0; i < 21; i++) {
      results.push(
        (await call("POST", "/api/pairings", { cookie: owner.cookie, body: { code: "ABCD-EFGH" } }))
          .status,
      );
    }
    expect(results.slice(0, 20).every((s) => s === 404)).toBe(true);
    expect(results[20]).toBe(429);
  });

  it("validates the start body: names refuse bidi and zero-width characters", async () => {
    for (const name of ["evil\u202Eexe.txt", "zero\u200Bwidth", "lone\uD800surrogate", ""]) {
      const res = await call("POST", "/api/pairings/start", {
        body: { deviceId: newDeviceId(), name, platform: "linux-x64" },
        headers: client(),
      });
      expectError(res, 400, "invalid_body");
    }
  });
});
