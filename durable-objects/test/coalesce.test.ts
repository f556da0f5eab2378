import { describe, expect, it } from "vitest";
import type { LiveEvent } from "@wegent/protocol";
import { coalesce } from "../coalesce";

const delta = (messageId: string, seq: number, text = "x"): LiveEvent => ({
  type: "message:delta",
  taskId: "t",
  messageId,
  seq,
  event: { kind: "text", offset: seq - 1, delta: text },
});

describe("coalesce (live channel batching)", () => {
  it("joins consecutive deltas of one message, in order, and keeps everything else apart", () => {
    const done: LiveEvent = {
      type: "message:done",
      taskId: "t",
      messageId: "a",
      status: "completed",
      content: "xx",
    };
    const out = coalesce([delta("a", 1), delta("a", 2), delta("b", 1), delta("a", 3), done]);
    expect(out.map((e) => e.type)).toEqual([
      "message:deltas",
      "message:delta",
      "message:delta",
      "message:done",
    ]);
    const first = out[0]!;
    expect(first.type === "message:deltas" && first.events.map((e) => e.seq)).toEqual([1, 2]);
  });

  it("bounds a joined frame by count (500) and by bytes (256 KiB)", () => {
    const many = Array.from({ length: 1200 }, (_, i) => delta("a", i + 1));
    expect(coalesce(many).map((e) => (e.type === "message:deltas" ? e.events.length : 1))).toEqual([
      500, 500, 200,
    ]);
    const big = Array.from({ length: 10 }, (_, i) => delta("a", i + 1, "y".repeat(100_000)));
    const joined = coalesce(big);
    expect(joined.length).toBeGreaterThan(3);
    for (const e of joined) expect(JSON.stringify(e).length).toBeLessThan(300 * 1024);
  });
});
