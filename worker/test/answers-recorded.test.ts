import { describe, expect, it } from "vitest";
import type { Block, HubFrame, LiveFrame, TaskWithMessages } from "@wegent/protocol";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, openLive, registerDevice } from "./device-client";

// An answer to the agent (Allow once / for this task / Deny, a question's answers) is part of
// the reply's record: the hub keeps it where the reply was when it was given, with who and when.

type Execute = Extract<HubFrame, { type: "task:execute" }>;

describe("answers recorded in the transcript", () => {
  it("an Allow and a question's answers are blocks in place, live, stored and exported", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const { socket } = await registerDevice(token, newDeviceId());
    const live = await openLive(user.cookie);
    await live.next("live:hello");
    const created = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "clean the build", permissionMode: "default" },
    });
    const taskId = (created.body as TaskWithMessages).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    const m = { taskId, messageId: e.messageId };
    socket.send({ type: "task:accepted", ...m });
    const send = (seq: number, event: object) =>
      socket.send({ type: "task:progress", ...m, seq, event });
    send(1, { kind: "text", offset: 0, delta: "Removing it." });
    send(2, {
      kind: "tool_use",
      toolUseId: "tu1",
      name: "Bash",
      input: { command: "rm -rf build" },
    });
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 2);

    const allowId = crypto.randomUUID();
    socket.send({
      type: "task:input-request",
      ...m,
      requestId: allowId,
      kind: "permission",
      tool: "Bash",
      input: { command: "rm -rf build" },
    });
    await live.next("input:request");
    const allowed = await call("POST", `/api/tasks/${taskId}/input/${allowId}`, {
      cookie: user.cookie,
      body: { behavior: "allow", remember: "task" },
    });
    expect(allowed.status).toBe(200);
    const resolved = (await live.next("input:resolved")) as Extract<
      LiveFrame,
      { type: "input:resolved" }
    >;
    expect(resolved.answer).toMatchObject({
      type: "input_answer",
      requestId: allowId,
      outcome: "allowed",
      remember: "task",
      subject: "rm -rf build",
      by: user.username,
    });
    const at = Date.parse(resolved.answer!.at);
    expect(Math.abs(at - Date.now())).toBeLessThan(60_000);

    send(3, { kind: "tool_result", toolUseId: "tu1", summary: "", isError: false });
    const askId = crypto.randomUUID();
    socket.send({
      type: "task:input-request",
      ...m,
      requestId: askId,
      kind: "question",
      tool: "AskUserQuestion",
      input: {},
      questions: [
        {
          question: "Keep the cache?",
          header: "Cache",
          options: [
            { label: "Keep", description: "" },
            { label: "Drop", description: "" },
          ],
          multiSelect: false,
        },
      ],
    });
    await live.next("input:request");
    const answered = await call("POST", `/api/tasks/${taskId}/input/${askId}`, {
      cookie: user.cookie,
      body: { answers: { "Keep the cache?": "Keep" } },
    });
    expect(answered.status).toBe(200);
    send(4, { kind: "text", offset: 12, delta: " Done." });
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 4);

    const kinds = (blocks: Block[] | undefined) =>
      (blocks ?? []).map((b) => (b.type === "input_answer" ? `answer:${b.outcome}` : b.type));
    const expected = [
      "text",
      "tool_use",
      "answer:allowed",
      "tool_result",
      "answer:answered",
      "text",
    ];
    // After a reload while it runs: the same order as live.
    const running = await eventually(
      async () => {
        const d = (await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie }))
          .body as TaskWithMessages;
        return d.pendingInput.length === 0 ? d : null;
      },
      5_000,
      "answers applied",
    );
    expect(kinds(running.messages[1]?.blocks)).toEqual(expected);

    socket.send({
      type: "task:complete",
      ...m,
      seq: 5,
      text: "Removing it. Done.",
      sessionId: "s1",
      usage: null,
      costUsd: null,
    });
    await socket.next("task:ack", (f) => f.type === "task:ack" && f.seq === 5);
    const done = (await call("GET", `/api/tasks/${taskId}`, { cookie: user.cookie }))
      .body as TaskWithMessages;
    expect(kinds(done.messages[1]?.blocks)).toEqual(expected);
    const question = done.messages[1]?.blocks.find(
      (b) => b.type === "input_answer" && b.kind === "question",
    );
    expect(question).toMatchObject({
      subject: "Keep the cache?",
      answers: { "Keep the cache?": "Keep" },
      by: user.username,
    });

    const md = (await call("GET", `/api/tasks/${taskId}/export?format=md`, { cookie: user.cookie }))
      .body as string;
    expect(md).toContain(`**Allowed for this task** · Bash \`rm -rf build\` · by ${user.username}`);
    expect(md).toContain("- Keep the cache? → Keep");
    expect(md.indexOf("Allowed for this task")).toBeLessThan(md.indexOf("Done."));
  });
});
