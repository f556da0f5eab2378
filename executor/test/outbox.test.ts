import { describe, expect, it } from "vitest";
import { Outbox, type OutputFrame } from "../src/outbox";

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

function setup(live: { value: boolean }) {
  const sent: OutputFrame[] = [];
  const outbox = new Outbox((frame) => {
    if (!live.value) return false;
    sent.push(frame);
    return true;
  });
  return { outbox, sent };
}

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
