import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashPasswordPbkdf2 } from "../auth/crypto";
import { call, signUp, uniqueName } from "./helpers";

const login = (username: string, password: string, ip: string) =>
  call("POST", "/api/auth/login", {
    body: { username, password },
    headers: { "CF-Connecting-IP": ip },
  });

describe("sign-in limits", () => {
  it("40 parallel wrong sign-ins check at most 5 passwords; the owner elsewhere is not locked out", async () => {
    const owner = await signUp(uniqueName(), "the right password");
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        login(owner.username, `wrong guess ${i}`, "198.51.100.7"),
      ),
    );
    const checked = results.filter((r) => r.status === 401).length;
    const limited = results.filter((r) => r.status === 429).length;
    console.log(`40 parallel wrong sign-ins: ${checked} passwords checked, ${limited} refused`);
    expect(checked).toBeLessThanOrEqual(5);
    expect(checked + limited).toBe(40);
    // Even the right password is refused from the attacking address…
    expect((await login(owner.username, "the right password", "198.51.100.7")).status).toBe(429);
    // …but the owner, from their own address, signs in.
    const started = performance.now();
    const ok = await login(owner.username, "the right password", "192.0.2.10");
    const ms = performance.now() - started;
    console.log(`sign-in (argon2id m=19 MiB t=2 p=1) took ${ms.toFixed(0)} ms`);
    expect(ok.status).toBe(200);
  }, 60_000);

  it("limits one client across accounts (no password spraying)", async () => {
    const ip = "198.51.100.99";
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      statuses.push((await login(uniqueName("spray"), "password123", ip)).status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses[30]).toBe(429);
  }, 60_000);

  it("an office behind one address: 40 good sign-ins all pass, 40 wrong ones are still throttled", async () => {
    const ip = "203.0.113.40";
    const staff = await Promise.all(
      Array.from({ length: 8 }, () => signUp(uniqueName("office"), "office password")),
    );
    const good: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (const user of staff)
        good.push((await login(user.username, "office password", ip)).status);
    }
    expect(good).toHaveLength(40);
    expect(good.filter((s) => s !== 200)).toEqual([]);
    // Failures from the same address still count: 30 passwords checked, then 429.
    const wrong: number[] = [];
    for (let i = 0; i < 40; i++) {
      wrong.push((await login(uniqueName("guess"), "wrong password", ip)).status);
    }
    expect(wrong.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(wrong.slice(30).every((s) => s === 429)).toBe(true);
    // Now even a good sign-in from that address waits for the window.
    expect((await login(staff[0]!.username, "office password", ip)).status).toBe(429);
  }, 120_000);

  it("upgrades an old PBKDF2 hash to argon2id at the next successful sign-in", async () => {
    const user = await signUp(uniqueName(), "old scheme password");
    const old = await hashPasswordPbkdf2("old scheme password");
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?")
      .bind(old, user.id)
      .run();
    expect((await login(user.username, "wrong password!", "192.0.2.50")).status).toBe(401);
    const still = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(user.id)
      .first<{ password_hash: string }>();
    expect(still?.password_hash).toBe(old);
    expect((await login(user.username, "old scheme password", "192.0.2.50")).status).toBe(200);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(user.id)
      .first<{ password_hash: string }>();
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await login(user.username, "old scheme password", "192.0.2.50")).status).toBe(200);
  });
});
