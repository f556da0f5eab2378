import { describe, expect, it } from "vitest";
import { type HubFrame, Message, stagesLine } from "@wegent/protocol";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, registerDevice, reply, textFrame } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ended(cookie: string, taskId: string, messageId: string): Promise<Message> {
  return eventually(
    async () => {
      const detail = await call("GET", `/api/tasks/${taskId}`, { cookie });
      const raw = (detail.body as { messages: unknown[] }).messages.find(
        (m) => (m as { id: string }).id === messageId,
      );
      const m = raw === undefined ? undefined : Message.parse(raw);
      return m && m.endedAt !== null ? m : undefined;
    },
    10_000,
    "the message to end",
  );
}

describe("where a message's time went (the task page's stage line)", () => {
  it("records queue, start, first token and done in order, from the hub's own clock", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const { socket } = await registerDevice(token, newDeviceId(), { maxSlots: 1 });
    const first = await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "a" } });
    const e1 = (await socket.next("task:execute")) as Execute;
    // The second waits in the queue while the first holds the only slot.
    const second = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "b" },
    });
    expect(second.status).toBe(201);
    await pause(300);
    await reply(socket, e1, "one", "s1");
    const e2 = (await socket.next("task:execute")) as Execute;
    await pause(150);
    socket.send({ type: "task:accepted", taskId: e2.taskId, messageId: e2.messageId });
    await pause(150);
    socket.send(textFrame(e2, 1, 0, "Hel"));
    await pause(150);
    socket.send({
      type: "task:complete",
      taskId: e2.taskId,
      messageId: e2.messageId,
      seq: 2,
      text: "Hel",
      sessionId: "s2",
      usage: null,
      costUsd: null,
    });

    const m = await ended(user.cookie, e2.taskId, e2.messageId);
    const s = m.stages!;
    expect(s).not.toBeNull();
    expect(s.queuedMs).toBeGreaterThanOrEqual(250);
    expect(s.startedMs! - s.queuedMs).toBeGreaterThanOrEqual(100);
    expect(s.firstTokenMs! - s.startedMs!).toBeGreaterThanOrEqual(100);
    expect(s.doneMs - s.firstTokenMs!).toBeGreaterThanOrEqual(100);
    expect(stagesLine(s)).toMatch(/^queued \d.* · started \d.* · first token \d.* · done \d.*$/);

    // The first one never queued: its queue figure is its dispatch, well under the wait above.
    const m1 = await ended(user.cookie, e1.taskId, e1.messageId);
    expect((first.body as { task: { id: string } }).task.id).toBe(e1.taskId);
    expect(m1.stages!.queuedMs).toBeLessThan(250);
    expect(m1.stages!.doneMs).toBeGreaterThanOrEqual(250);
  });

  it("leaves out what never happened: a message failed before any output has no first token", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const { socket } = await registerDevice(token, newDeviceId());
    await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "x" } });
    const e = (await socket.next("task:execute")) as Execute;
    socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
    socket.send({
      type: "task:failed",
      taskId: e.taskId,
      messageId: e.messageId,
      seq: 1,
      code: "agent_error",
      message: "no model",
      text: "",
      sessionId: null,
    });
    const m = await ended(user.cookie, e.taskId, e.messageId);
    expect(m.stages).toMatchObject({ startedMs: expect.any(Number), firstTokenMs: null });
    expect(stagesLine(m.stages!)).not.toContain("first token");
    // The user's own message has none.
    const detail = await call("GET", `/api/tasks/${e.taskId}`, { cookie: user.cookie });
    const mine = (detail.body as { messages: Message[] }).messages.find((x) => x.role === "user");
    expect(mine?.stages).toBeNull();
  });
});
