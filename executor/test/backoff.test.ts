import { describe, expect, it } from "vitest";
import { backoffDelay } from "@wegent/protocol";

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
