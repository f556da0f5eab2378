import { afterEach, describe, expect, it, vi } from "vitest";
import { parseTraceparent, Traceparent } from "@wegent/protocol";
import { z } from "zod";
import { api } from "../src/api";
import { newTraceparent } from "../src/traceparent";

// Every API request from the web app is the root of its own trace: it carries a fresh W3C
// traceparent made in the browser, flagged sampled (the Worker's sampler decides).

function headersOf(call: unknown[]): Record<string, string> {
  return (call[1] as RequestInit).headers as Record<string, string>;
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("the browser's traceparent", () => {
  it("is a valid W3C traceparent, sampled, with random ids from crypto.getRandomValues", () => {
    const random = vi.spyOn(crypto, "getRandomValues");
    const value = newTraceparent();
    expect(Traceparent.safeParse(value).success).toBe(true);
    expect(value).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(parseTraceparent(value)?.sampled).toBe(true);
    expect(random).toHaveBeenCalledTimes(2);
    const many = new Set(Array.from({ length: 200 }, () => newTraceparent()));
    expect(many.size).toBe(200);
  });

  it("never sends an all-zero id (invalid in W3C trace context)", () => {
    let calls = 0;
    vi.spyOn(crypto, "getRandomValues").mockImplementation((array) => {
      calls += 1;
      (array as Uint8Array).fill(calls === 1 ? 0 : 0xab);
      return array;
    });
    expect(newTraceparent()).toBe(`00-${"ab".repeat(16)}-${"ab".repeat(8)}-01`);
  });

  it("rides on every api() call, a new one each time, next to the JSON content type", async () => {
    const fetchMock = vi.fn(
      async () =>
        new Response(JSON.stringify({ ok: true }), {
          status: 200,
          headers: { "content-type": "application/json" },
        }),
    );
    vi.stubGlobal("fetch", fetchMock);
    const Ok = z.object({ ok: z.boolean() });
    await api("POST", "/api/tasks", Ok, { message: "hi" });
    await api("POST", "/api/tasks/t1/messages", Ok, { message: "again" });
    await api("GET", "/api/tasks", Ok);
    expect(fetchMock).toHaveBeenCalledTimes(3);
    const sent = fetchMock.mock.calls.map((c) => headersOf(c));
    for (const h of sent) expect(Traceparent.safeParse(h.traceparent).success).toBe(true);
    expect(sent[0]!["content-type"]).toBe("application/json");
    expect(sent[2]!["content-type"]).toBeUndefined();
    // Each request is its own trace: the message's POST is the root of the message's trace.
    const ids = sent.map((h) => parseTraceparent(h.traceparent)!.traceId);
    expect(new Set(ids).size).toBe(3);
  });
});
