import { describe, expect, it } from "vitest";
import { backoffDelay, reconnectDelay } from "@wegent/protocol";

describe("reconnect backoff", () => {
  const base = { baseMs: 500, capMs: 30_000 };

  it("stays within [0, min(cap, base * 2^attempt)) with full jitter", () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      expect(backoffDelay(attempt, { ...base, random: () => 0 })).toBe(0);
      const top = backoffDelay(attempt, { ...base, random: () => 0.999999 });
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.999));
    }
  });

  it("doubles then caps at 30 s", () => {
    const half = (attempt: number) => backoffDelay(attempt, { ...base, random: () => 0.5 });
    expect([0, 1, 2, 3].map(half)).toEqual([250, 500, 1000, 2000]);
    expect(half(6)).toBe(15_000);
    expect(half(7)).toBe(15_000);
    expect(half(40)).toBe(15_000);
  });

  it("spreads delays over the window", () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, base));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8000);
    expect(new Set(delays).size).toBeGreaterThan(50);
  });
});

describe("reconnect policy", () => {
  const policy = {
    baseMs: 500,
    capMs: 30_000,
    spreadMs: 5_000,
    outageCapMs: 10_000,
    outageFastMs: 120_000,
  };
  const at = (random: number) => ({ ...policy, random: () => random });

  it("spreads the first redial after a going-away close over the whole window", () => {
    for (const code of [1001, 1006, 1012, 1013]) {
      const state = { attempt: 0, downForMs: 0, closeCode: code };
      expect(reconnectDelay(state, at(0))).toBe(0);
      expect(reconnectDelay(state, at(0.5))).toBe(2_500);
      expect(reconnectDelay(state, at(0.999999))).toBe(4_999);
    }
  });

  it("spreads a 1006 (a restart, or one machine's blip) over the shorter window", () => {
    const blip = { ...policy, blipSpreadMs: 2_000 };
    const state = { attempt: 0, downForMs: 0, closeCode: 1006 };
    expect(reconnectDelay(state, { ...blip, random: () => 0.999999 })).toBe(1_999);
    expect(reconnectDelay({ ...state, closeCode: 1001 }, { ...blip, random: () => 0.5 })).toBe(
      2_500,
    );
  });

  it("keeps the short first redial for other closes and for a first start", () => {
    expect(reconnectDelay({ attempt: 0, downForMs: 0, closeCode: 4010 }, at(0.999))).toBe(499);
    expect(reconnectDelay({ attempt: 0, downForMs: 0, closeCode: 1000 }, at(0.999))).toBe(499);
    expect(reconnectDelay({ attempt: 0, downForMs: null, closeCode: 1006 }, at(0.999))).toBe(499);
  });

  it("caps the retries of a fresh outage at outageCapMs, then at capMs", () => {
    const top = (downForMs: number | null) =>
      reconnectDelay({ attempt: 12, downForMs, closeCode: 1006 }, at(0.999999));
    expect(top(30_000)).toBe(9_999);
    expect(top(119_999)).toBe(9_999);
    expect(top(120_000)).toBe(29_999);
    expect(top(null)).toBe(29_999);
    const second = reconnectDelay({ attempt: 1, downForMs: 100, closeCode: 1006 }, at(0.5));
    expect(second).toBe(500);
  });

  it("a fleet of 4,000 dropped by a deploy comes back spread: ≤ 1,000 connects in any second", () => {
    const perSecond = new Array<number>(5).fill(0);
    for (let i = 0; i < 4_000; i++) {
      const delay = reconnectDelay({ attempt: 0, downForMs: 0, closeCode: 1001 }, policy);
      perSecond[Math.floor(delay / 1000)]! += 1;
    }
    expect(perSecond.reduce((a, b) => a + b, 0)).toBe(4_000);
    for (const n of perSecond) {
      expect(n).toBeGreaterThan(600);
      expect(n).toBeLessThan(1_000);
    }
  });

  it("after a 12 s outage, a fleet retrying with it is back within outageCapMs of the return", () => {
    const upAt = 12_000;
    let latest = 0;
    for (let i = 0; i < 4_000; i++) {
      let t = reconnectDelay({ attempt: 0, downForMs: 0, closeCode: 1006 }, policy);
      for (let attempt = 1; t < upAt; attempt++) {
        t += reconnectDelay({ attempt, downForMs: t, closeCode: 1006 }, policy);
      }
      latest = Math.max(latest, t - upAt);
    }
    expect(latest).toBeLessThan(policy.outageCapMs);
  });
});
