import { describe, expect, it } from "vitest";
import type { TaskInputRequest } from "@wegent/protocol";
import { InputRequests } from "../src/input-requests";
import { silentLogger } from "../src/log";

const TASK = "00000000-0000-4000-8000-000000000001";
const MESSAGE = "00000000-0000-4000-8000-000000000002";
const bash = { kind: "permission" as const, tool: "Bash", input: { command: "make" } };

function setup() {
  const sent: TaskInputRequest[] = [];
  const inputs = new InputRequests(silentLogger, (frame) => sent.push(frame));
  return { sent, inputs };
}

const answer = (requestId: string, patch: object = {}) => ({
  type: "task:input-answer" as const,
  taskId: TASK,
  messageId: MESSAGE,
  requestId,
  behavior: "allow" as const,
  ...patch,
});

describe("InputRequests (the executor's open requests)", () => {
  it("waits for the answer, keeps the request open for a re-send, applies an answer once", async () => {
    const { sent, inputs } = setup();
    const pending = inputs.ask(TASK, MESSAGE, bash, new AbortController().signal);
    expect(sent).toHaveLength(1);
    expect(inputs.open()).toEqual(sent);
    const requestId = sent[0]!.requestId;
    inputs.answer(answer(requestId, { messageId: "00000000-0000-4000-8000-00000000ffff" }));
    expect(inputs.open()).toHaveLength(1); // an answer naming another message is ignored
    inputs.answer(answer(requestId, { behavior: "deny", message: "no" }));
    await expect(pending).resolves.toEqual({ behavior: "deny", message: "no" });
    expect(inputs.open()).toEqual([]);
    inputs.answer(answer(requestId)); // a repeat after a reconnect changes nothing
  });

  it("a stopped run answers its own request with a deny", async () => {
    const { inputs } = setup();
    const stop = new AbortController();
    const pending = inputs.ask(TASK, MESSAGE, bash, stop.signal);
    stop.abort("cancelled");
    await expect(pending).resolves.toMatchObject({ behavior: "deny" });
    expect(inputs.open()).toEqual([]);
  });

  it("remembers Allow for this task per task and tool", async () => {
    const { sent, inputs } = setup();
    const first = inputs.ask(TASK, MESSAGE, bash, new AbortController().signal);
    inputs.answer(answer(sent[0]!.requestId, { remember: "task" }));
    await first;
    await expect(inputs.ask(TASK, MESSAGE, bash, new AbortController().signal)).resolves.toEqual({
      behavior: "allow",
    });
    expect(sent).toHaveLength(1);
    // Another tool, or another task, still asks.
    void inputs.ask(TASK, MESSAGE, { ...bash, tool: "Write" }, new AbortController().signal);
    void inputs.ask(
      "00000000-0000-4000-8000-000000000003",
      MESSAGE,
      bash,
      new AbortController().signal,
    );
    expect(sent).toHaveLength(3);
  });

  it("bounds a huge tool input on the request", () => {
    const { sent, inputs } = setup();
    void inputs.ask(
      TASK,
      MESSAGE,
      {
        kind: "permission",
        tool: "Write",
        input: { file_path: "/x", content: "y".repeat(200_000) },
      },
      new AbortController().signal,
    );
    const input = sent[0]!.input as Record<string, unknown>;
    expect(input).toMatchObject({ truncated: true, file_path: "/x" });
    expect(JSON.stringify(input).length).toBeLessThan(10_000);
  });
});
