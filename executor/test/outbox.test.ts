import { afterEach, describe, expect, it, vi } from "vitest";
import {
  batchLimitsFromEnv,
  Outbox,
  type BatchLimits,
  type OutboundFrame,
  type OutputFrame,
} from "../src/connection/outbox";

const T = "11111111-1111-4111-8111-111111111111";
const M = "22222222-2222-4222-8222-222222222222";
const M2 = "33333333-3333-4333-8333-333333333333";

function progress(messageId: string, delta: string) {
  return {
    type: "task:progress" as const,
    taskId: T,
    messageId,
    event: { kind: "text" as const, offset: 0, delta },
  };
}

/** Output frames as sent, a batch unpacked into its events (so tests read per-seq order). */
function unpack(frame: OutboundFrame): OutputFrame[] {
  if (frame.type !== "task:progress-batch") return [frame];
  return frame.events.map((e) => ({
    type: "task:progress",
    taskId: frame.taskId,
    messageId: frame.messageId,
    seq: e.seq,
    event: e.event,
  }));
}

function setup(live: { value: boolean }, limits: Partial<BatchLimits> = {}) {
  const sent: OutputFrame[] = [];
  const frames: OutboundFrame[] = [];
  const outbox = new Outbox((frame) => {
    if (!live.value) return false;
    frames.push(frame);
    sent.push(...unpack(frame));
    return true;
  }, limits);
  return { outbox, sent, frames };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("outbox", () => {
  it("numbers frames per message from 1, the terminal frame taking the next seq", () => {
    const { outbox, sent } = setup({ value: true });
    outbox.open(T, M);
    outbox.open(T, M2);
    outbox.push(progress(M, "a"));
    outbox.push(progress(M2, "x"));
    outbox.push(progress(M, "b"));
    outbox.push({
      type: "task:complete",
      taskId: T,
      messageId: M,
      text: "ab",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    expect(sent.map((f) => [f.messageId === M ? "M" : "M2", f.seq, f.type])).toEqual([
      ["M", 1, "task:progress"],
      ["M2", 1, "task:progress"],
      ["M", 2, "task:progress"],
      ["M", 3, "task:complete"],
    ]);
    // Nothing after the terminal frame.
    expect(outbox.push(progress(M, "late"))).toBeNull();
  });

  it("keeps frames until acked; acks are cumulative; an acked ended message is forgotten", () => {
    const { outbox } = setup({ value: true });
    outbox.open(T, M);
    outbox.push(progress(M, "a"));
    outbox.push(progress(M, "b"));
    outbox.push({
      type: "task:failed",
      taskId: T,
      messageId: M,
      code: "agent_error",
      message: "x",
      text: "",
      sessionId: null,
    });
    expect(outbox.unackedCount).toBe(3);
    outbox.ack(M, 2);
    expect(outbox.unackedOf(M).map((f) => f.seq)).toEqual([3]);
    expect(outbox.has(M)).toBe(true);
    outbox.ack(M, 3);
    expect(outbox.has(M)).toBe(false);
    expect(outbox.unackedCount).toBe(0);
  });

  it("buffers while down and re-sends after lastSeq on resume, dropping what the hub forgot", () => {
    const live = { value: true };
    const { outbox, sent } = setup(live);
    outbox.open(T, M);
    outbox.open(T, M2);
    outbox.push(progress(M, "1"));
    outbox.push(progress(M, "2"));
    outbox.push(progress(M2, "other"));
    live.value = false;
    outbox.push(progress(M, "3"));
    outbox.push(progress(M, "4"));
    sent.length = 0;
    live.value = true;
    const dropped = outbox.resume([{ taskId: T, messageId: M, lastSeq: 2 }]);
    expect(dropped).toEqual([M2]);
    expect(sent.map((f) => f.seq)).toEqual([3, 4]);
    expect(outbox.has(M2)).toBe(false);
    expect(outbox.push(progress(M2, "late"))).toBeNull();
    expect(outbox.unackedOf(M).map((f) => f.seq)).toEqual([3, 4]);
  });
});

describe("batching", () => {
  it("sends the first event at once and gathers the rest until the ack, then one batch", () => {
    const { outbox, frames } = setup({ value: true });
    outbox.open(T, M);
    outbox.push(progress(M, "a"));
    expect(frames.map((f) => f.type)).toEqual(["task:progress"]);
    for (const d of ["b", "c", "d"]) outbox.push(progress(M, d));
    expect(frames).toHaveLength(1); // seq 1 is in flight: b, c, d wait
    outbox.ack(M, 1);
    expect(frames).toHaveLength(2);
    const batch = frames[1]!;
    expect(batch.type).toBe("task:progress-batch");
    if (batch.type !== "task:progress-batch") return;
    expect(batch.events.map((e) => e.seq)).toEqual([2, 3, 4]);
    // After the ack of the batch, a lone event goes out alone and at once again.
    outbox.ack(M, 4);
    outbox.push(progress(M, "e"));
    expect(frames.at(-1)).toMatchObject({ type: "task:progress", seq: 5 });
  });

  it("never holds back the end: gathered events go first, then the terminal frame", () => {
    const { outbox, frames, sent } = setup({ value: true });
    outbox.open(T, M);
    outbox.push(progress(M, "a"));
    outbox.push(progress(M, "b"));
    outbox.push(progress(M, "c"));
    outbox.push({
      type: "task:complete",
      taskId: T,
      messageId: M,
      text: "abc",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    expect(frames.map((f) => f.type)).toEqual([
      "task:progress",
      "task:progress-batch",
      "task:complete",
    ]);
    expect(sent.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
  });

  it("flushes on the count bound, the byte bound and the wait bound", () => {
    vi.useFakeTimers();
    const byCount = setup({ value: true }, { maxEvents: 3 });
    byCount.outbox.open(T, M);
    for (let i = 0; i < 7; i++) byCount.outbox.push(progress(M, String(i)));
    // 1 alone, then 2-4 (count reached), then 5-7 (count reached): all while seq 1 is unacked.
    expect(byCount.frames.map((f) => unpack(f).map((x) => x.seq))).toEqual([
      [1],
      [2, 3, 4],
      [5, 6, 7],
    ]);

    const byBytes = setup({ value: true }, { maxBytes: 200 });
    byBytes.outbox.open(T, M);
    byBytes.outbox.push(progress(M, "x"));
    byBytes.outbox.push(progress(M, "é".repeat(60))); // 120 bytes of UTF-8 + JSON
    expect(byBytes.frames).toHaveLength(1);
    byBytes.outbox.push(progress(M, "é".repeat(60)));
    // 2 × ~155 bytes passes the bound: flushed now, and never two of them in one frame.
    expect(byBytes.frames.map((f) => unpack(f).map((x) => x.seq))).toEqual([[1], [2], [3]]);
    for (const f of byBytes.frames) expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThan(600);

    const byTime = setup({ value: true });
    byTime.outbox.open(T, M);
    byTime.outbox.push(progress(M, "a"));
    byTime.outbox.push(progress(M, "b"));
    vi.advanceTimersByTime(49);
    expect(byTime.frames).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(byTime.frames.map((f) => unpack(f).map((x) => x.seq))).toEqual([[1], [2]]);
  });

  it("maxEvents 1 sends every event at once in its own frame", () => {
    const { outbox, frames } = setup(
      { value: true },
      batchLimitsFromEnv({ WEGENT_OUTPUT_BATCH_MAX: "1" }),
    );
    outbox.open(T, M);
    for (let i = 0; i < 5; i++) outbox.push(progress(M, String(i)));
    expect(frames.map((f) => f.type)).toEqual(Array(5).fill("task:progress"));
    expect(batchLimitsFromEnv({ WEGENT_OUTPUT_BATCH_MAX: "-3" })).toEqual({});
  });

  it("re-sends unacknowledged events after a reconnect as batches, from the hub's lastSeq", () => {
    const live = { value: true };
    const { outbox, frames, sent } = setup(live);
    outbox.open(T, M);
    for (let i = 0; i < 5; i++) outbox.push(progress(M, String(i)));
    outbox.ack(M, 1); // 2-5 sent as one batch, never acked: the socket drops
    live.value = false;
    outbox.push(progress(M, "6"));
    frames.length = 0;
    sent.length = 0;
    live.value = true;
    outbox.resume([{ taskId: T, messageId: M, lastSeq: 3 }]);
    expect(frames.map((f) => f.type)).toEqual(["task:progress-batch"]);
    expect(sent.map((f) => f.seq)).toEqual([4, 5, 6]);
  });
});

describe("frame size", () => {
  it("shortens a final text that would not fit in one frame", async () => {
    const { fitText } = await import("../src/task-manager");
    expect(fitText("short")).toBe("short");
    const huge = "x".repeat(2 * 1024 * 1024);
    const fitted = fitText(huge);
    expect(fitted.length).toBeLessThan(1024 * 1024);
    expect(fitted).toMatch(/too long to send/);
  });
});
