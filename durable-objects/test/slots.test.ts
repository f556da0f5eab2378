import { describe, expect, it } from "vitest";
import type { HubFrame, LiveEvent, TaskStatus } from "@wegent/protocol";
import type { MessageEnd } from "../device-hub/slot-types";
import { Slots } from "../device-hub/slots";
import type { Work } from "../device-hub/store";
import { registeredHub } from "./node-sql";

// Slots, queue and dispatch without workerd: a real SQLite (node:sqlite) under the real store,
// and the effects (socket, D1, live channel) recorded.
function setup(maxSlots = 2, connected = true) {
  const { store, output } = registeredHub(maxSlots, connected);
  const sent: HubFrame[] = [];
  const statuses: [string, TaskStatus][] = [];
  const ended: [string, MessageEnd][] = [];
  const endedWork: string[] = [];
  const pushed: LiveEvent[] = [];
  let published = 0;
  const slots = new Slots(store, output, {
    executor: () => (store.getMeta().connId ? { send: (f) => sent.push(f) } : null),
    setMessageStatus: async (w: Work, s) => void statuses.push([w.messageId, s]),
    messageTaken: () => undefined,
    finishMessage: async (w: Work, end) => void ended.push([w.messageId, end]),
    push: (_user, event) => pushed.push(event),
    publishStatus: async () => void (published += 1),
    messageEnded: (w: Work) => void endedWork.push(w.messageId),
  });
  const submit = (n: number) =>
    slots.submit({
      taskId: `t${n}`,
      messageId: `m${n}`,
      ownerId: "owner",
      prompt: `p${n}`,
      resumeSessionId: null,
      projectId: null,
      permissionMode: "default",
    });
  return {
    store,
    output,
    slots,
    sent,
    statuses,
    ended,
    endedWork,
    pushed,
    submit,
    published: () => published,
  };
}

const executes = (frames: HubFrame[]) =>
  frames.filter((f) => f.type === "task:execute").map((f) => f.messageId);

describe("Slots (on Node)", () => {
  it("fills the free slots, queues the rest with positions, and moves the queue as slots free", async () => {
    const s = setup(2);
    expect(await s.submit(1)).toEqual({ ok: true, status: "running", queuePosition: null });
    expect(await s.submit(2)).toEqual({ ok: true, status: "running", queuePosition: null });
    expect(await s.submit(3)).toEqual({ ok: true, status: "queued", queuePosition: 1 });
    expect(await s.submit(4)).toEqual({ ok: true, status: "queued", queuePosition: 2 });
    expect(executes(s.sent)).toEqual(["m1", "m2"]);
    expect(s.slots.figures()).toEqual({ status: "busy", slotsUsed: 2, queueLength: 2 });

    const replies = await s.slots.receive({
      type: "task:complete",
      taskId: "t1",
      messageId: "m1",
      seq: 1,
      text: "done",
      sessionId: "s1",
      usage: null,
      costUsd: null,
    });
    expect(replies).toEqual([{ type: "task:ack", taskId: "t1", messageId: "m1", seq: 1 }]);
    expect(s.ended.map(([id, e]) => [id, e.status, e.content])).toEqual([
      ["m1", "completed", "done"],
    ]);
    expect(executes(s.sent)).toEqual(["m1", "m2", "m3"]);
    expect(s.pushed).toContainEqual(
      expect.objectContaining({ type: "task:status", messageId: "m4", queuePosition: 1 }),
    );
  });

  it("runs one task at a time in a project that is not git, and says why the next waits", async () => {
    const s = setup(5);
    const folder = {
      id: "p_notes",
      name: "notes",
      path: "/n",
      git: false,
      branch: null,
      dirty: false,
    };
    const repo = {
      id: "p_repo",
      name: "repo",
      path: "/r",
      git: true,
      branch: "main",
      dirty: false,
    };
    s.store.setMeta({ projects: [folder, repo] });
    const inProject = (n: number, projectId: string) =>
      s.slots.submit({
        taskId: `t${n}`,
        messageId: `m${n}`,
        ownerId: "owner",
        prompt: "p",
        resumeSessionId: null,
        projectId,
        permissionMode: "bypassPermissions",
      });
    expect(await inProject(1, folder.id)).toMatchObject({ status: "running" });
    expect(await inProject(2, folder.id)).toMatchObject({ status: "queued", queuePosition: 1 });
    // Git projects never wait for each other, nor behind the folder.
    expect(await inProject(3, repo.id)).toMatchObject({ status: "running" });
    expect(await inProject(4, repo.id)).toMatchObject({ status: "running" });
    expect(s.sent.find((f) => f.type === "task:execute" && f.messageId === "m3")).toMatchObject({
      projectId: repo.id,
    });
    expect(s.slots.partial("m2")?.queueReason).toContain("notes");
    expect(s.pushed).toContainEqual(
      expect.objectContaining({
        messageId: "m2",
        status: "queued",
        queueReason: expect.stringContaining("notes"),
      }),
    );
    await s.slots.receive({
      type: "task:failed",
      taskId: "t1",
      messageId: "m1",
      seq: 1,
      code: "agent_error",
      message: "x",
      text: "",
      sessionId: null,
    });
    expect(executes(s.sent)).toContain("m2");
  });

  it("stores output in order: acks re-sends, refuses gaps, and assembles the reply", async () => {
    const s = setup(1);
    await s.submit(1);
    const progress = (seq: number, delta: string) =>
      s.slots.receive({
        type: "task:progress",
        taskId: "t1",
        messageId: "m1",
        seq,
        event: { kind: "text", offset: { 1: 0, 2: 3, 3: 5 }[seq] ?? 0, delta },
      } as never);
    expect(await progress(1, "Hel")).toEqual([
      { type: "task:ack", taskId: "t1", messageId: "m1", seq: 1 },
    ]);
    expect(s.store.work("m1")?.state).toBe("running");
    expect(await progress(1, "Hel")).toEqual([
      { type: "task:ack", taskId: "t1", messageId: "m1", seq: 1 },
    ]);
    const gap = await progress(3, "!");
    expect(gap[0]).toMatchObject({ type: "error", code: "out_of_order" });
    expect(gap[1]).toEqual({ type: "task:ack", taskId: "t1", messageId: "m1", seq: 1 });
    await progress(2, "lo");
    expect(s.slots.partial("m1")).toEqual({
      status: "running",
      text: "Hello",
      lastSeq: 2,
      queuePosition: null,
      queueReason: null,
      blocks: [{ type: "text", text: "Hello" }],
    });
    expect(s.pushed.filter((e) => e.type === "message:delta")).toHaveLength(2);
    // The end writes the transcript once, and whatever waited on the message ends with it.
    await s.slots.receive({
      type: "task:complete",
      taskId: "t1",
      messageId: "m1",
      seq: 3,
      text: "Hello",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    expect(s.ended[0]?.[1]).toMatchObject({
      content: "Hello",
      blocks: [{ type: "text", text: "Hello" }],
    });
    expect(s.endedWork).toEqual(["m1"]);
  });

  it("stores a batch in one transaction, acks it once, pushes it as one frame; overlaps and gaps", async () => {
    const s = setup(1);
    await s.submit(1);
    let transactions = 0;
    const inTransaction = s.output.transaction;
    Object.assign(s.output, {
      transaction: <T>(fn: () => T): T => {
        transactions += 1;
        return inTransaction(fn);
      },
    });
    const text = (seq: number) => ({
      seq,
      event: { kind: "text" as const, offset: seq - 1, delta: `${seq}` },
    });
    const batch = (from: number, to: number) =>
      s.slots.receive({
        type: "task:progress-batch",
        taskId: "t1",
        messageId: "m1",
        events: Array.from({ length: to - from + 1 }, (_, i) => text(from + i)),
      });
    // 40 events: one row, one transaction.
    expect(await batch(1, 40)).toEqual([
      { type: "task:ack", taskId: "t1", messageId: "m1", seq: 40 },
    ]);
    expect(transactions).toBe(1);
    expect(s.store.work("m1")?.lastSeq).toBe(40);
    const pushed = s.pushed.filter((e) => e.type === "message:deltas");
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({ type: "message:deltas", messageId: "m1" });
    // A re-sent batch that overlaps what is stored: only the new part is stored and pushed.
    expect(await batch(35, 45)).toEqual([
      { type: "task:ack", taskId: "t1", messageId: "m1", seq: 45 },
    ]);
    const second = s.pushed.filter((e) => e.type === "message:deltas")[1];
    expect(second?.type === "message:deltas" && second.events.map((e) => e.seq)).toEqual([
      41, 42, 43, 44, 45,
    ]);
    // All of it already stored: just the ack. A gap: refused, the ack says where we are.
    expect(await batch(1, 10)).toEqual([
      { type: "task:ack", taskId: "t1", messageId: "m1", seq: 45 },
    ]);
    const gap = await batch(50, 52);
    expect(gap[0]).toMatchObject({ type: "error", code: "out_of_order" });
    expect(gap[1]).toEqual({ type: "task:ack", taskId: "t1", messageId: "m1", seq: 45 });
    expect(s.slots.partial("m1")?.text).toBe(
      Array.from({ length: 45 }, (_, i) => `${i + 1}`).join(""),
    );
  });

  it("cancels a queued message at once and asks the device to stop a running one", async () => {
    const s = setup(1);
    await s.submit(1);
    await s.submit(2);
    expect(await s.slots.cancel("m2", "someone-else")).toBe("not_found");
    expect(await s.slots.cancel("m2", "owner")).toBe("cancelled");
    expect(s.ended).toEqual([["m2", expect.objectContaining({ status: "cancelled" })]]);
    expect(await s.slots.cancel("m1", "owner")).toBe("cancelling");
    expect(s.sent.at(-1)).toMatchObject({ type: "task:cancel", messageId: "m1" });
    expect(s.store.work("m1")?.state).toBe("cancelling");
    expect(s.statuses).toContainEqual(["m1", "cancelling"]);
  });

  it("refuses work for an offline device, naming it", async () => {
    const s = setup(1, false);
    const result = await s.submit(1);
    expect(result).toMatchObject({ ok: false, code: "device_offline" });
    expect(!result.ok && result.message).toContain("laptop");
    expect(s.store.allWork()).toEqual([]);
  });

  it("reconciles with what the device runs: fails the lost, cancels the unknown", async () => {
    const s = setup(2);
    await s.submit(1);
    await s.submit(2);
    s.slots.accepted("t1", "m1");
    s.slots.accepted("t2", "m2");
    const link: HubFrame[] = [];
    await s.slots.reconcile({ send: (f) => link.push(f) }, ["t1", "t9"]);
    expect(s.ended).toEqual([["m2", expect.objectContaining({ errorCode: "lost_on_device" })]]);
    expect(link).toEqual([
      expect.objectContaining({ type: "task:cancel", taskId: "t9", messageId: null }),
    ]);
    expect(s.slots.figures().slotsUsed).toBe(1);
  });
});
