import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { LiveFrame, PendingInput } from "@wegent/protocol";
import { diffLines } from "../src/components/DiffPreview";
import { AssistantMessage } from "../src/components/MessageView";
import { applyFrame, initialState, reducer } from "../src/state/reducer";
import { message, task, TASK_ID } from "./helpers";

const MESSAGE = "00000000-0000-4000-8000-0000000000a1";
const pending = (requestId: string): PendingInput => ({
  requestId,
  messageId: MESSAGE,
  kind: "permission",
  tool: "Bash",
  input: { command: "make" },
  createdAt: "2026-11-29T20:00:00.000Z",
  expiresAt: "2026-11-29T20:10:00.000Z",
});
const asked = (requestId: string): LiveFrame => ({
  type: "input:request",
  liveSeq: 1,
  taskId: TASK_ID,
  messageId: MESSAGE,
  request: pending(requestId),
});

afterEach(cleanup);

describe("requests in the state (every tab the same)", () => {
  it("adds a request once, removes it when resolved (answered elsewhere) or when its message ends", () => {
    let state = reducer(initialState, {
      type: "messages:loaded",
      task: task(),
      messages: [message({ id: MESSAGE })],
      pendingInput: [pending("r1")],
    });
    state = applyFrame(state, asked("r1"));
    state = applyFrame(state, asked("r2"));
    expect(state.pendingInput[TASK_ID]?.map((r) => r.requestId)).toEqual(["r1", "r2"]);
    state = applyFrame(state, {
      type: "input:resolved",
      liveSeq: 2,
      taskId: TASK_ID,
      messageId: MESSAGE,
      requestId: "r1",
      outcome: "allowed",
    });
    expect(state.pendingInput[TASK_ID]?.map((r) => r.requestId)).toEqual(["r2"]);
    state = applyFrame(state, {
      type: "message:done",
      liveSeq: 3,
      taskId: TASK_ID,
      messageId: MESSAGE,
      status: "failed",
      content: "",
    });
    expect(state.pendingInput[TASK_ID]).toEqual([]);
  });

  it("an answer joins the reply's transcript where it came, with who answered (live)", () => {
    let state = reducer(initialState, {
      type: "messages:loaded",
      task: task(),
      messages: [
        message({
          id: MESSAGE,
          status: "running",
          content: "Cleaning.",
          blocks: [
            { type: "text", text: "Cleaning." },
            { type: "tool_use", toolUseId: "t1", name: "Bash", input: { command: "make" } },
          ],
        }),
      ],
      pendingInput: [pending("r1")],
    });
    const resolved: LiveFrame = {
      type: "input:resolved",
      liveSeq: 2,
      taskId: TASK_ID,
      messageId: MESSAGE,
      requestId: "r1",
      outcome: "allowed",
      answer: {
        type: "input_answer",
        requestId: "r1",
        kind: "permission",
        tool: "Bash",
        subject: "make",
        outcome: "allowed",
        by: "alice",
        at: "2026-11-29T20:01:00.000Z",
      },
    };
    state = applyFrame(state, resolved);
    state = applyFrame(state, resolved); // a replay adds nothing
    const view = state.messages[TASK_ID]![0]!;
    expect(view.blocks.map((b) => b.type)).toEqual(["text", "tool_use", "input_answer"]);
    render(<AssistantMessage message={view} deviceName={null} onRetry={null} />);
    const rows = screen.getAllByTestId("answer-row");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.textContent).toContain("Allowed once");
    expect(rows[0]!.textContent).toContain("make");
    expect(rows[0]!.textContent).toContain("by alice");
  });

  it("previews an edit as removed and added lines around what stays", () => {
    expect(diffLines("a\nb\nc", "a\nB\nc")).toEqual([
      { kind: "same", text: "a" },
      { kind: "del", text: "b" },
      { kind: "add", text: "B" },
      { kind: "same", text: "c" },
    ]);
    expect(diffLines("", "new file")).toEqual([{ kind: "add", text: "new file" }]);
  });
});
