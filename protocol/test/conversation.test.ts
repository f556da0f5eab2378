import { describe, expect, it } from "vitest";
import { appendBlock, type Block, blocksOf, boundBlocks, type ProgressEvent } from "../src";

const events: ProgressEvent[] = [
  { kind: "thinking", delta: "Let me " },
  { kind: "thinking", delta: "look." },
  { kind: "text", offset: 0, delta: "Look" },
  { kind: "text", offset: 4, delta: "ing." },
  { kind: "tool_use", toolUseId: "t1", name: "Bash", input: { command: "ls" } },
  { kind: "tool_result", toolUseId: "t1", summary: "a.txt", isError: false },
  { kind: "text", offset: 8, delta: "\n\nDone." },
];

describe("transcript blocks", () => {
  it("groups events into ordered blocks; the live and the stored builds agree, replays change nothing", () => {
    const stored = blocksOf(events);
    expect(stored).toEqual([
      { type: "thinking", text: "Let me look." },
      { type: "text", text: "Looking." },
      { type: "tool_use", toolUseId: "t1", name: "Bash", input: { command: "ls" } },
      { type: "tool_result", toolUseId: "t1", summary: "a.txt", isError: false },
      { type: "text", text: "\n\nDone." },
    ]);
    let live: Block[] = [];
    let reply = 0;
    for (const event of [...events, events[3]!, events[4]!, events[5]!]) {
      live = appendBlock(live, event, reply);
      if (event.kind === "text") reply = Math.max(reply, event.offset + event.delta.length);
    }
    expect(live).toEqual(stored);
    expect(blocksOf([...events, ...events])).toEqual([
      ...stored.slice(0, 4),
      { type: "text", text: "\n\nDone." },
      { type: "thinking", text: "Let me look." },
    ]);
  });

  it("bounds what is stored, in steps, never above the limit", () => {
    const big: Block[] = [
      { type: "tool_use", toolUseId: "t1", name: "Write", input: { content: "x".repeat(50_000) } },
      ...Array.from({ length: 200 }, (_, i): Block => ({
        type: "tool_result",
        toolUseId: `r${i}`,
        summary: "y".repeat(1000),
        isError: false,
      })),
    ];
    const first = boundBlocks(big, 250_000);
    expect(first[0]).toMatchObject({ input: { truncated: true } });
    expect(first).toHaveLength(big.length);
    const last = boundBlocks(big, 50_000);
    expect(new TextEncoder().encode(JSON.stringify(last)).length).toBeLessThanOrEqual(50_000);
    expect(last[0]).toMatchObject({ type: "text", text: expect.stringContaining("earlier steps") });
    expect(last.at(-1)).toEqual(big.at(-1));
  });

  it("keeps only the latest rate-limit state, live and stored alike", () => {
    const limit = (status: "allowed" | "rejected") => ({
      status,
      limitType: "five_hour",
      resetsAt: "2030-01-01T15:00:00.000Z",
      utilization: null,
    });
    const run: ProgressEvent[] = [
      { kind: "rate_limit", limit: limit("allowed") },
      { kind: "text", offset: 0, delta: "Hi" },
      { kind: "rate_limit", limit: limit("rejected") },
    ];
    let live: Block[] = [];
    let reply = 0;
    for (const event of run) {
      live = appendBlock(live, event, reply);
      if (event.kind === "text") reply += event.delta.length;
    }
    expect(live).toEqual([
      { type: "text", text: "Hi" },
      { type: "rate_limit", limit: limit("rejected") },
    ]);
    expect(blocksOf(run)).toEqual(live);
  });
});
