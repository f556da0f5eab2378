import { describe, expect, it } from "vitest";
import type { TaskComplete } from "@wegent/protocol";
import { Slots } from "../device-hub/slots";
import { WriteBehind } from "../device-hub/write-behind";
import { registeredHub } from "./node-sql";

// The hub's D1 writes behind its answers, wired as in device-hub/index.ts, against a D1 that
// takes a while per write: nothing may land after a message's final write.
const slowD1 = (ms = 20) => new Promise((r) => setTimeout(r, ms));

function hub() {
  const { store, output } = registeredHub();
  const d1 = new Map<string, string>();
  const log: string[] = [];
  const writes = new WriteBehind(() => undefined);
  const slots = new Slots(store, output, {
    executor: () => ({ send: () => undefined }),
    messageTaken: () => undefined,
    setMessageStatus: (w, s) =>
      writes.behind("message status", async () => {
        await slowD1();
        d1.set(w.messageId, s);
        log.push(`${w.messageId}:${s}`);
      }),
    finishMessage: (w, end) =>
      writes.then(async () => {
        await slowD1();
        d1.set(w.messageId, end.status);
        log.push(`${w.messageId}:${end.status}`);
      }),
    push: () => undefined,
    publishStatus: () => writes.behind("device status", () => slowD1()),
    messageEnded: () => undefined,
  });
  const submit = (n: number) =>
    slots.submit({
      taskId: `t${n}`,
      messageId: `m${n}`,
      ownerId: "owner",
      prompt: "p",
      resumeSessionId: null,
      projectId: null,
      permissionMode: "default",
    });
  const complete = (n: number): TaskComplete => ({
    type: "task:complete",
    taskId: `t${n}`,
    messageId: `m${n}`,
    seq: 1,
    text: "done",
    sessionId: "s1",
    usage: null,
    costUsd: null,
  });
  return { store, slots, writes, d1, log, submit, complete };
}

describe("writes behind the hub's answers", () => {
  it("answers a submit before D1 has the status, and writes it in order", async () => {
    const h = hub();
    const started = Date.now();
    expect(await h.submit(1)).toEqual({ ok: true, status: "running", queuePosition: null });
    // Did not wait for the write: D1 does not have it yet when the answer comes. (A wall-clock
    // bound here, < 15 ms, failed on a loaded machine: 39-117 ms, on the code before too.)
    expect(h.d1.get("m1")).toBeUndefined();
    console.log(`submit answered in ${Date.now() - started} ms`);
    await h.slots.receive(h.complete(1));
    await h.writes.settled();
    expect(h.log).toEqual(["m1:running", "m1:completed"]);
  });

  it("a cancel that arrives while the final write is on its way changes nothing", async () => {
    const h = hub();
    await h.submit(1);
    const done = h.slots.receive(h.complete(1));
    // The Worker's cancel is delivered while the hub waits on D1 (no input gate for it).
    expect(await h.slots.cancel("m1", "owner")).toBe("ending");
    await done;
    await h.writes.settled();
    expect(h.store.work("m1")).toBeNull();
    expect(h.d1.get("m1")).toBe("completed");
    expect(h.log).toEqual(["m1:running", "m1:completed"]);
  });

  it("a second ending of the same message (a deadline, a re-send) is not written", async () => {
    const h = hub();
    await h.submit(1);
    const first = h.slots.receive(h.complete(1));
    const w = h.store.work("m1")!;
    await h.slots.finish(w, { status: "failed", errorCode: "dispatch_timeout" });
    await first;
    await h.writes.settled();
    expect(h.log).toEqual(["m1:running", "m1:completed"]);
  });

  it("tries a failed write again in its place, and gives up without blocking the next", async () => {
    const writes = new WriteBehind(() => undefined);
    const order: string[] = [];
    let failures = 1;
    writes.behind("flaky", async () => {
      if (failures-- > 0) throw new Error("D1 busy");
      order.push("flaky");
    });
    writes.behind("broken", async () => {
      throw new Error("D1 down");
    });
    const last = writes.then(async () => void order.push("final"));
    await last;
    expect(order).toEqual(["flaky", "final"]);
  }, 10_000);
});
