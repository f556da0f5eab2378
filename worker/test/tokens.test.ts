import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createToken, expectError, signUp } from "./helpers";

describe("API tokens", () => {
  it("creates a 7-day token by default, shown once, stored only as a hash", async () => {
    const user = await signUp();
    const before = Date.now();
    const created = await createToken(user, { name: "laptop" });
    expect(created.token.split(".")).toHaveLength(3);
    const days = (Date.parse(created.expiresAt) - before) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);

    const row = await env.DB.prepare("SELECT * FROM api_tokens WHERE id = ?")
      .bind(created.id)
      .first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    expect(Object.values(row ?? {})).not.toContain(created.token);
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);

    const list = await call("GET", "/api/tokens", { cookie: user.cookie });
    expect(list.status).toBe(200);
    const tokens = (list.body as { tokens: Record<string, unknown>[] }).tokens;
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({
      id: created.id,
      name: "laptop",
      scope: "user",
      revokedAt: null,
    });
    expect(JSON.stringify(tokens)).not.toContain(created.token);
  });

  it("authenticates API calls with Bearer and records last use", async () => {
    const user = await signUp();
    const { id, token } = await createToken(user);
    const me = await call("GET", "/api/auth/me", { token });
    expect(me.status).toBe(200);
    expect((me.body as { user: { id: string } }).user.id).toBe(user.id);
    const row = await env.DB.prepare("SELECT last_used_at FROM api_tokens WHERE id = ?")
      .bind(id)
      .first<{ last_used_at: string | null }>();
    expect(row?.last_used_at).not.toBeNull();
  });

  it("accepts lifetimes of 1 to 90 days and rejects others", async () => {
    const user = await signUp();
    const t90 = await createToken(user, { name: "long", days: 90 });
    expect((Date.parse(t90.expiresAt) - Date.now()) / 86_400_000).toBeGreaterThan(89.9);
    for (const days of [0, 91, 1.5, "7"]) {
      expectError(
        await call("POST", "/api/tokens", { cookie: user.cookie, body: { name: "x", days } }),
        400,
        "invalid_body",
      );
    }
    expectError(
      await call("POST", "/api/tokens", { cookie: user.cookie, body: { name: "bad\u0000name" } }),
      400,
      "invalid_body",
    );
    expectError(
      await call("POST", "/api/tokens", { cookie: user.cookie, body: { name: "" } }),
      400,
      "invalid_body",
    );
    expectError(
      await call("POST", "/api/tokens", { cookie: user.cookie, rawBody: "nope" }),
      400,
      "bad_json",
    );
  });

  it("revokes: the token is then refused with token_revoked and a fix", async () => {
    const user = await signUp();
    const { id, token } = await createToken(user);
    const res = await call("DELETE", `/api/tokens/${id}`, { cookie: user.cookie });
    expect(res.status).toBe(200);
    expect((res.body as { token: { revokedAt: string | null } }).token.revokedAt).not.toBeNull();
    const refused = await call("GET", "/api/auth/me", { token });
    expectError(refused, 401, "token_revoked");
    expect(JSON.stringify(refused.body)).toContain("Settings → API Token");
  });

  it("refuses an expired token with token_expired and its date", async () => {
    const user = await signUp();
    const { id, token } = await createToken(user);
    const past = new Date(Date.now() - 1000).toISOString();
    await env.DB.prepare("UPDATE api_tokens SET expires_at = ? WHERE id = ?").bind(past, id).run();
    const refused = await call("GET", "/api/auth/me", { token });
    expectError(refused, 401, "token_expired");
    expect(JSON.stringify(refused.body)).toContain(past);
  });

  it("refuses forged and garbage tokens with invalid_token", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const [h, p] = token.split(".");
    expectError(
      await call("GET", "/api/auth/me", { token: `${h}.${p}.AAAA` }),
      401,
      "invalid_token",
    );
    expectError(await call("GET", "/api/auth/me", { token: "garbage" }), 401, "invalid_token");
  });

  it("keeps tokens private to their owner", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const aliceToken = await createToken(alice);
    const bobList = await call("GET", "/api/tokens", { cookie: bob.cookie });
    expect((bobList.body as { tokens: unknown[] }).tokens).toHaveLength(0);
    expectError(
      await call("DELETE", `/api/tokens/${aliceToken.id}`, { cookie: bob.cookie }),
      404,
      "not_found",
    );
    // Still valid for Alice.
    expect((await call("GET", "/api/auth/me", { token: aliceToken.token })).status).toBe(200);
  });

  it("needs a browser session: no credentials, or an API token, cannot manage tokens", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    expectError(await call("GET", "/api/tokens"), 401, "unauthorized");
    expectError(
      await call("POST", "/api/tokens", { token, body: { name: "more" } }),
      403,
      "session_required",
    );
    expectError(
      await call("DELETE", "/api/tokens/not-a-uuid", { cookie: user.cookie }),
      400,
      "invalid_path",
    );
  });

  it("lets only admins mint operator (cloud) tokens, which cannot call the user API", async () => {
    // The isolated D1 of this file may already hold users; make an admin explicitly.
    const admin = await signUp();
    await env.DB.prepare("UPDATE users SET is_admin = 1 WHERE id = ?").bind(admin.id).run();
    const user = await signUp();
    expectError(
      await call("POST", "/api/tokens", {
        cookie: user.cookie,
        body: { name: "op", scope: "cloud" },
      }),
      403,
      "forbidden",
    );
    const op = await createToken(admin, { name: "pool", scope: "cloud", days: 30 });
    expectError(await call("GET", "/api/auth/me", { token: op.token }), 403, "token_scope");
  });
});
