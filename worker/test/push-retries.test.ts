import { describe, expect, it } from "vitest";
import { PUSH_RETRY_TRIES, retryDue } from "../../durable-objects/push-retries";

// When a push the service did not take is tried again: its Retry-After as said, else backing
// off from 30 s to at most 10 min; never past the tries or a day after the event.

const T0 = Date.parse("2026-12-05T00:00:00Z");

describe("retryDue", () => {
  it("takes the service's Retry-After as it is", () => {
    expect(retryDue({ subscriptionId: "s", at: T0 + 1_000 }, 0, T0, T0)).toBe(T0 + 1_000);
  });

  it("backs off 30 s, 60 s, 120 s, 240 s when the service said nothing (503, unreachable)", () => {
    const waits = [0, 1, 2, 3].map(
      (tries) => retryDue({ subscriptionId: "s", at: null }, tries, T0, T0)! - T0,
    );
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000]);
  });

  it("gives up after its tries and a day after the event", () => {
    expect(retryDue({ subscriptionId: "s", at: null }, PUSH_RETRY_TRIES, T0, T0)).toBeNull();
    const dayLater = T0 + 24 * 60 * 60_000;
    expect(retryDue({ subscriptionId: "s", at: dayLater + 1 }, 0, T0, T0)).toBeNull();
    expect(retryDue({ subscriptionId: "s", at: null }, 1, T0, dayLater)).toBeNull();
  });
});
