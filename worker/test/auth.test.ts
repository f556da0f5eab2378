import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, signUp, uniqueName } from "./helpers";

describe("accounts", () => {
  it("signs up, the first account is admin and later ones are not", async () => {
    const first = await call("POST", "/api/auth/signup", {
      body: { username: "admin1", password: "password-one" },
    });
    expect(first.status).toBe(201);
    expect((first.body as { user: { isAdmin: boolean } }).user.isAdmin).toBe(true);
    const cookie = first.headers.get("Set-Cookie") ?? "";
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");

    const second = await signUp();
    const me = await call("GET", "/api/auth/me", { cookie: second.cookie });
    expect(me.status).toBe(200);
    expect((me.body as { user: { isAdmin: boolean; username: string } }).user).toMatchObject({
      isAdmin: false,
      username: second.username,
    });
  });

  it("stores a salted argon2id hash (m=19 MiB, t=2, p=1), never the password", async () => {
    const a = await signUp(uniqueName(), "same password 1");
    const b = await signUp(uniqueName(), "same password 1");
    const rows = await env.DB.prepare("SELECT id, password_hash FROM users WHERE id IN (?, ?)")
      .bind(a.id, b.id)
      .all<{ id: string; password_hash: string }>();
    const hashes = rows.results.map((r) => r.password_hash);
    expect(hashes).toHaveLength(2);
    for (const h of hashes) {
      expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(h).not.toContain("same password");
    }
    expect(hashes[0]).not.toBe(hashes[1]);
  });

  it("refuses a taken username regardless of case", async () => {
    const name = uniqueName("Case");
    await signUp(name);
    const again = await call("POST", "/api/auth/signup", {
      body: { username: name.toLowerCase(), password: "password-two" },
    });
    expectError(again, 409, "username_taken");
  });

  it("rejects bad sign-up input with a 400 that names the field", async () => {
    expectError(await call("POST", "/api/auth/signup", { rawBody: "{not json" }), 400, "bad_json");
    const short = await call("POST", "/api/auth/signup", {
      body: { username: "ok_name", password: "x" },
    });
    expectError(short, 400, "invalid_body");
    expect(JSON.stringify(short.body)).toContain("password");
    expectError(
      await call("POST", "/api/auth/signup", {
        body: { username: "a b!", password: "longenough" },
      }),
      400,
    );
    expectError(await call("POST", "/api/auth/signup", { body: [] }), 400, "invalid_body");
    expectError(await call("POST", "/api/auth/signup", {}), 400, "invalid_body");
  });

  it("signs in with the right password, refuses the wrong one", async () => {
    const user = await signUp(uniqueName(), "right password");
    const ok = await call("POST", "/api/auth/login", {
      body: { username: user.username, password: "right password" },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Set-Cookie")).toMatch(/^wegent_session=/);
    const bad = await call("POST", "/api/auth/login", {
      body: { username: user.username, password: "wrong password" },
    });
    expectError(bad, 401, "invalid_credentials");
    const nobody = await call("POST", "/api/auth/login", {
      body: { username: "nobody_here", password: "whatever1" },
    });
    expectError(nobody, 401, "invalid_credentials");
  });

  it("throttles repeated failed sign-ins with 429 and Retry-After, even for the right password", async () => {
    const user = await signUp(uniqueName(), "right password");
    const attempt = (password: string) =>
      call("POST", "/api/auth/login", { body: { username: user.username, password } });
    for (let i = 0; i < 5; i++)
      expectError(await attempt(`wrong ${i} pass`), 401, "invalid_credentials");
    const locked = await attempt("right password");
    expectError(locked, 429, "too_many_attempts");
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("signs out: the old cookie no longer works", async () => {
    const user = await signUp();
    expect((await call("GET", "/api/auth/me", { cookie: user.cookie })).status).toBe(200);
    const out = await call("POST", "/api/auth/logout", { cookie: user.cookie });
    expect(out.status).toBe(200);
    expect(out.headers.get("Set-Cookie")).toContain("wegent_session=;");
    expectError(await call("GET", "/api/auth/me", { cookie: user.cookie }), 401, "unauthorized");
  });

  it("refuses /me without credentials, and with a forged cookie", async () => {
    expectError(await call("GET", "/api/auth/me"), 401, "unauthorized");
    expectError(
      await call("GET", "/api/auth/me", { cookie: "wegent_session=abc.def.ghi" }),
      401,
      "unauthorized",
    );
  });
});

describe("the API surface", () => {
  it("answers unknown /api paths with a JSON 404", async () => {
    expectError(await call("GET", "/api/nope"), 404, "not_found");
    expectError(await call("DELETE", "/api/auth/me"), 404, "not_found");
  });

  it("reports health with a live D1 query", async () => {
    const res = await call("GET", "/api/health");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true });
  });
});
