import { describe, expect, it } from "vitest";
import { call, expectError, signUp, uniqueName } from "./helpers";

// Issue #26, finding 5: sign-up is limited per client address before any hashing or lookup,
// and its "taken" answer names nothing.

const signup = (username: string, ip: string) =>
  call("POST", "/api/auth/signup", {
    body: { username, password: "correct horse battery" },
    headers: { "CF-Connecting-IP": ip },
  });

describe("sign-up limits", () => {
  it("12 parallel sign-ups from one address: at most 5 accounts, the rest 429 with Retry-After", async () => {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => signup(uniqueName("burst"), "198.51.100.12")),
    );
    const ms = performance.now() - started;
    const made = results.filter((r) => r.status === 201).length;
    const limited = results.filter((r) => r.status === 429);
    console.log(
      `12 parallel sign-ups: ${made} accounts, ${limited.length} refused, ${ms.toFixed(0)} ms`,
    );
    expect(made).toBeLessThanOrEqual(5);
    expect(made + limited.length).toBe(12);
    for (const r of limited) {
      expectError(r, 429, "too_many_attempts");
      expect(Number(r.headers.get("Retry-After"))).toBeGreaterThan(0);
    }
    // Someone elsewhere is not affected.
    expect((await signup(uniqueName("other"), "192.0.2.12")).status).toBe(201);
  }, 60_000);

  it("a burst cannot probe which names exist: over the limit, a taken name gets the same 429", async () => {
    const taken = await signUp(uniqueName("Known"));
    const ip = "198.51.100.13";
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signup(uniqueName("probe"), ip)).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
    const probe = await signup(taken.username, ip);
    const free = await signup(uniqueName("free"), ip);
    expectError(probe, 429, "too_many_attempts");
    expectError(free, 429, "too_many_attempts");
    expect(JSON.stringify(probe.body).replace(/\d+ s/, "")).toBe(
      JSON.stringify(free.body).replace(/\d+ s/, ""),
    );
  });

  it("the taken answer names nothing, and costs what a sign-up costs", async () => {
    const taken = await signUp(uniqueName("Owner"));
    let t = performance.now();
    const res = await signup(taken.username.toLowerCase(), "198.51.100.14");
    const takenMs = performance.now() - t;
    expectError(res, 409, "username_taken");
    expect(JSON.stringify(res.body).toLowerCase()).not.toContain(taken.username.toLowerCase());
    t = performance.now();
    expect((await signup(uniqueName("fresh"), "198.51.100.14")).status).toBe(201);
    const freshMs = performance.now() - t;
    console.log(
      `taken name answered in ${takenMs.toFixed(0)} ms, a new account in ${freshMs.toFixed(0)} ms`,
    );
    // Both hash the password (argon2id) first: the taken answer is not a fast path.
    expect(takenMs).toBeGreaterThan(freshMs / 4);
  });
});
