import { describe, expect, it } from "vitest";
import type { PushNotice } from "../../edge/push/notice";
import { PushRetries } from "../push-retries";
import { nodeSql } from "./node-sql";

// Pushes kept for a retry, on a real SQLite: never older news after newer news of the task
// (a send still in flight when the newer one went out included).

const question: PushNotice = { kind: "needs_input", taskId: "t1", eventKey: "needs_input:r1" };
const finished: PushNotice = { kind: "finished", taskId: "t1", eventKey: "finished:m1" };
const T = 1_800_000_000_000;

function retries() {
  return new PushRetries(nodeSql());
}

describe("PushRetries", () => {
  it("keeps a retry and gives it back once due, grouped by event", () => {
    const r = retries();
    r.newest("t1", T);
    r.keep(
      question,
      [
        { subscriptionId: "a", at: T + 1_000 },
        { subscriptionId: "b", at: T + 1_000 },
      ],
      0,
      T,
      T,
    );
    expect(r.nextDue()).toBe(T + 1_000);
    expect(r.takeDue(T + 999)).toEqual([]);
    const due = r.takeDue(T + 1_000);
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ notice: question, tries: 1, since: T });
    expect(due[0]!.subscriptionIds.sort()).toEqual(["a", "b"]);
    expect(r.nextDue()).toBeNull();
  });

  it("drops older news once newer news of the task went out, even one still in flight", () => {
    const r = retries();
    r.newest("t1", T);
    r.keep(question, [{ subscriptionId: "a", at: null }], 0, T, T);
    // Newer news: the stored retry goes.
    r.newest("t1", T + 10);
    expect(r.takeDue(T + 10 * 60_000)).toEqual([]);
    // The question's send was still in flight and failed after "finished" went out: not kept.
    r.keep(question, [{ subscriptionId: "a", at: null }], 0, T, T + 20);
    expect(r.nextDue()).toBeNull();
    // The newer one itself is kept.
    r.keep(finished, [{ subscriptionId: "a", at: null }], 0, T + 10, T + 20);
    expect(r.takeDue(T + 10 * 60_000).map((d) => d.notice.kind)).toEqual(["finished"]);
  });
});
