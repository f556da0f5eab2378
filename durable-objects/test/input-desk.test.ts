import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type {
  AnswerBlock,
  HubFrame,
  LiveEvent,
  TaskInputRequest,
  TaskStatus,
} from "@wegent/protocol";
import { InputDesk } from "../device-hub/input-desk";
import { HubStore } from "../device-hub/store";
import { nodeSql } from "./node-sql";

// The agent's requests for the user's input, on a real SQLite (node:sqlite), effects recorded.
const TASK = randomUUID();
const MESSAGE = randomUUID();

function setup(sql = nodeSql(), connected = { value: true }) {
  const store = new HubStore(sql);
  if (!store.work(MESSAGE)) {
    store.addWork({
      messageId: MESSAGE,
      taskId: TASK,
      ownerId: "owner",
      prompt: "p",
      resumeSessionId: null,
      projectId: null,
      permissionMode: "default",
      state: "queued",
      queuedAt: 0,
    });
    store.markDispatched(MESSAGE, 1, 1);
    store.setState(MESSAGE, "running");
  }
  const sent: HubFrame[] = [];
  const statuses: TaskStatus[] = [];
  const pushed: LiveEvent[] = [];
  const recorded: AnswerBlock[] = [];
  const desk = new InputDesk(sql, {
    executor: () => (connected.value ? { send: (f) => sent.push(f) } : null),
    work: (id) => store.work(id),
    setMessageStatus: async (_w, s) => void statuses.push(s),
    push: (_user, event) => pushed.push(event),
    timeoutMs: () => 60_000,
    recordAnswer: (_messageId, block) => recorded.push(block),
  });
  return { sql, store, desk, sent, statuses, pushed, connected, recorded };
}

const bash = (requestId = randomUUID()): TaskInputRequest => ({
  type: "task:input-request",
  taskId: TASK,
  messageId: MESSAGE,
  requestId,
  kind: "permission",
  tool: "Bash",
  input: { command: "rm -rf build" },
});
const target = (requestId: string, answer: object, patch: object = {}) => ({
  ownerId: "owner",
  taskId: TASK,
  messageId: MESSAGE,
  requestId,
  answer: answer as never,
  ...patch,
});

describe("InputDesk (on Node)", () => {
  it("opens a request (waiting_input, pushed live), an Allow reaches the executor once", async () => {
    const h = setup();
    const frame = bash();
    expect(await h.desk.request(frame, 1_000)).toEqual([]);
    expect(h.statuses).toEqual(["waiting_input"]);
    expect(h.pushed[0]).toMatchObject({ type: "input:request", request: { tool: "Bash" } });
    expect(h.desk.pending(MESSAGE)).toEqual([
      expect.objectContaining({ requestId: frame.requestId, kind: "permission", tool: "Bash" }),
    ]);
    const answered = await h.desk.answer(target(frame.requestId, { behavior: "allow" }));
    expect(answered).toMatchObject({ ok: true, outcome: "allowed" });
    expect(h.sent).toEqual([
      expect.objectContaining({ type: "task:input-answer", behavior: "allow" }),
    ]);
    expect(h.statuses).toEqual(["waiting_input", "running"]);
    expect(h.desk.pending(MESSAGE)).toEqual([]);
    // A second answer (another tab): 409, nothing sent again.
    const again = await h.desk.answer(target(frame.requestId, { behavior: "deny" }));
    expect(again).toMatchObject({ ok: false, status: 409, code: "input_answered" });
    expect(h.sent).toHaveLength(1);
  });

  it("records who answered what and when, and an expiry as nobody's answer", async () => {
    const h = setup();
    const allowed = bash();
    await h.desk.request(allowed, 1_000);
    await h.desk.answer(
      target(allowed.requestId, { behavior: "allow", remember: "task" }, { answeredBy: "alice" }),
    );
    expect(h.recorded[0]).toMatchObject({
      type: "input_answer",
      requestId: allowed.requestId,
      tool: "Bash",
      subject: "rm -rf build",
      outcome: "allowed",
      remember: "task",
      by: "alice",
    });
    expect(Date.parse(h.recorded[0]!.at)).toBeGreaterThan(0);
    expect(h.pushed.at(-2)).toMatchObject({ type: "input:resolved", answer: h.recorded[0] });
    const expiring = bash();
    await h.desk.request(expiring, 2_000);
    await h.desk.expire(62_000);
    expect(h.recorded[1]).toMatchObject({ outcome: "expired", by: null, subject: "rm -rf build" });
    // A refused answer records nothing.
    await h.desk.answer(target(allowed.requestId, { behavior: "deny" }, { answeredBy: "alice" }));
    expect(h.recorded).toHaveLength(2);
  });

  it("refuses a foreign or mismatched answer without changing anything", async () => {
    const h = setup();
    const frame = bash();
    await h.desk.request(frame, 1_000);
    const foreign = await h.desk.answer(
      target(frame.requestId, { behavior: "allow" }, { ownerId: "someone-else" }),
    );
    expect(foreign).toMatchObject({ ok: false, status: 404, code: "input_not_found" });
    const otherTask = await h.desk.answer(
      target(frame.requestId, { behavior: "allow" }, { taskId: randomUUID() }),
    );
    expect(otherTask).toMatchObject({ ok: false, status: 404 });
    const wrongKind = await h.desk.answer(target(frame.requestId, { answers: { q: "a" } }));
    expect(wrongKind).toMatchObject({ ok: false, status: 400, code: "input_mismatch" });
    expect(h.sent).toEqual([]);
    expect(h.desk.pending(MESSAGE)).toHaveLength(1);
  });

  it("expires into a deny that says so; a late answer is 410", async () => {
    const h = setup();
    const frame = bash();
    await h.desk.request(frame, 1_000);
    expect(h.desk.nextExpiry()).toBe(61_000);
    await h.desk.expire(60_999);
    expect(h.sent).toEqual([]);
    await h.desk.expire(61_000);
    expect(h.sent).toEqual([
      expect.objectContaining({ behavior: "deny", message: expect.stringContaining("expired") }),
    ]);
    expect(h.pushed.at(-2)).toMatchObject({ type: "input:resolved", outcome: "expired" });
    expect(h.desk.nextExpiry()).toBeNull();
    const late = await h.desk.answer(target(frame.requestId, { behavior: "allow" }));
    expect(late).toMatchObject({ ok: false, status: 410, code: "input_expired" });
  });

  it("keeps requests and answers across a restart and a reconnect", async () => {
    const sql = nodeSql();
    const connected = { value: false };
    const first = setup(sql, connected);
    const frame = bash();
    await first.desk.request(frame, 1_000);
    // The hub restarts (a new object over the same SQLite); the executor is away.
    const second = setup(sql, connected);
    expect(second.desk.pending(MESSAGE)).toHaveLength(1);
    await second.desk.answer(target(frame.requestId, { behavior: "deny", message: "no" }));
    expect(second.sent).toEqual([]);
    // The executor is back: the answer is re-sent, and a re-sent request is answered again.
    connected.value = true;
    second.desk.resend({ send: (f) => second.sent.push(f) });
    expect(second.sent).toEqual([
      expect.objectContaining({ requestId: frame.requestId, behavior: "deny" }),
    ]);
    expect(await second.desk.request(frame)).toEqual([
      expect.objectContaining({ requestId: frame.requestId, behavior: "deny" }),
    ]);
  });

  it("checks a question's answers against its questions", async () => {
    const h = setup();
    const requestId = randomUUID();
    await h.desk.request({
      ...bash(requestId),
      kind: "question",
      tool: "AskUserQuestion",
      questions: [
        {
          question: "Which colour?",
          header: "Colour",
          multiSelect: false,
          options: [
            { label: "Teal", description: "" },
            { label: "Orange", description: "" },
          ],
        },
      ],
    });
    const unknown = await h.desk.answer(target(requestId, { answers: { "Which size?": "L" } }));
    expect(unknown).toMatchObject({ ok: false, status: 400, code: "invalid_answers" });
    const ok = await h.desk.answer(target(requestId, { answers: { "Which colour?": "Orange" } }));
    expect(ok).toMatchObject({ ok: true, outcome: "answered" });
    expect(h.sent[0]).toMatchObject({ behavior: "allow", answers: { "Which colour?": "Orange" } });
  });

  it("closes a message's open requests when it ends", async () => {
    const h = setup();
    const frame = bash();
    await h.desk.request(frame, 1_000);
    h.desk.ended(h.store.work(MESSAGE)!);
    expect(h.pushed.at(-1)).toMatchObject({ type: "input:resolved", outcome: "ended" });
    expect(h.desk.pending(MESSAGE)).toEqual([]);
    const after = await h.desk.answer(target(frame.requestId, { behavior: "allow" }));
    expect(after).toMatchObject({ ok: false, status: 404 });
  });
});
