// The ordered transcript and its tool rows, in jsdom: text, reasoning and tool calls in the
// order they happened (the same live and from stored blocks), rows that say what each tool did,
// an Edit as a diff, and open rows ended when the run is stopped or fails.
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { blocksOf, type Block, type ProgressEvent } from "@wegent/protocol";
import { AssistantMessage } from "../src/components/MessageView";
import { activityText } from "../src/components/transcript/Transcript";
import { applyDelta, toView, type MessageView } from "../src/state/messages";
import { transcriptOf } from "../src/state/transcript";
import { renderMarkdown } from "../src/lib/markdown";
import {
  diffOf,
  oneLine,
  summaryParts,
  workspaceRootOf,
  type ToolCall,
} from "../src/lib/tool-summary";
import { message, REPLY_ID, TASK_ID } from "./helpers";

afterEach(cleanup);

const ROOT = `/home/ana/.wegent/worktrees/proj-1/${TASK_ID.slice(0, 8)}`;

// What the executor streams for: text → Bash → text → Edit → text.
const EVENTS: ProgressEvent[] = [
  { kind: "text", offset: 0, delta: "Let me run the tests." },
  {
    kind: "tool_use",
    toolUseId: "toolu_1",
    name: "Bash",
    input: { command: `cd ${ROOT} && npm test`, description: "run tests" },
  },
  {
    kind: "tool_result",
    toolUseId: "toolu_1",
    summary: "> demo-app@0.1.0 test\nok",
    isError: false,
    durationMs: 3200,
  },
  { kind: "text", offset: 21, delta: "\n\n" },
  { kind: "text", offset: 23, delta: "Now the fix." },
  {
    kind: "tool_use",
    toolUseId: "toolu_2",
    name: "Edit",
    input: {
      file_path: `${ROOT}/index.js`,
      old_string: "const a = 1;\nconst b = 2;",
      new_string: "const a = 1;\nconst b = 3;\nconst c = 4;",
    },
  },
  {
    kind: "tool_result",
    toolUseId: "toolu_2",
    summary: `The file ${ROOT}/index.js has been updated.`,
    isError: false,
  },
  { kind: "text", offset: 35, delta: "\n\n" },
  { kind: "text", offset: 37, delta: "Done: demo-app@0.1.0." },
];
const CONTENT = "Let me run the tests.\n\nNow the fix.\n\nDone: demo-app@0.1.0.";

function streamed(events: ProgressEvent[]): MessageView {
  let view: MessageView = toView(message({ id: REPLY_ID, status: "running" }));
  events.forEach((event, i) => (view = applyDelta(view, i + 1, event)));
  return view;
}

/** The order of what is on screen: `text:<first words>` and `tool:<name>`. */
function order(): string[] {
  const content = screen.getByTestId("assistant-content");
  return [...content.children].map((el) =>
    el.getAttribute("data-testid") === "tool-use"
      ? `tool:${el.getAttribute("data-tool")}`
      : `text:${el.textContent?.trim()}`,
  );
}

describe("the ordered transcript", () => {
  it("draws text and tool calls interleaved as they happened, live and from stored blocks", () => {
    const live = streamed(EVENTS);
    expect(live.content).toBe(CONTENT);
    const { rerender } = render(
      <AssistantMessage message={live} deviceName={null} onRetry={null} />,
    );
    const expected = [
      "text:Let me run the tests.",
      "tool:Bash",
      "text:Now the fix.",
      "tool:Edit",
      "text:Done: demo-app@0.1.0.",
    ];
    expect(order()).toEqual(expected);
    const liveRows = screen.getAllByTestId("tool-summary").map((el) => el.textContent);

    // After a reload: the blocks the hub stored, the reply as content.
    const stored = toView(
      message({ id: REPLY_ID, status: "completed", content: CONTENT, blocks: blocksOf(EVENTS) }),
    );
    rerender(<AssistantMessage message={stored} deviceName={null} onRetry={null} />);
    expect(order()).toEqual(expected);
    const storedRows = screen.getAllByTestId("tool-summary").map((el) => el.textContent);
    expect(storedRows).toEqual(liveRows);
    expect(storedRows).toEqual(["Bash · npm test · exit 0 · 3.2 s", "Edit · index.js · +2 −1"]);
    const diff = screen.getByTestId("tool-diff").textContent ?? "";
    expect(diff).toContain("- const b = 2;");
    expect(diff).toContain("+ const b = 3;");
    expect(diff).toContain("+ const c = 4;");
    // A package name is not turned into an email link.
    expect(screen.getByTestId("assistant-content").querySelector("a")).toBeNull();
    expect(renderMarkdown("mail [me](mailto:a@b.co) or <c@d.co>")).toContain(
      'href="mailto:a@b.co"',
    );
    expect(renderMarkdown("<c@d.co>")).toContain('href="mailto:c@d.co"');
  });

  it("shows the recorded reply after the tools when the text blocks do not add up to it", () => {
    const blocks: Block[] = [
      { type: "tool_use", toolUseId: "t1", name: "Read", input: { file_path: "/x/a.ts" } },
      { type: "tool_result", toolUseId: "t1", summary: "1\tconst a", isError: false },
    ];
    const old = toView(
      message({ id: REPLY_ID, status: "completed", content: "All good.", blocks }),
    );
    expect(transcriptOf(old.blocks, old.content).map((i) => i.kind)).toEqual(["tool", "text"]);
    render(<AssistantMessage message={old} deviceName={null} onRetry={null} />);
    expect(order()).toEqual(["tool:Read", "text:All good."]);
  });

  it("ends every open row when the run is stopped or fails", () => {
    const events = EVENTS.slice(0, 2);
    for (const [status, state, word] of [
      ["cancelled", "stopped", "stopped"],
      ["failed", "failed", "failed"],
    ] as const) {
      const view: MessageView = { ...streamed(events), status };
      render(<AssistantMessage message={view} deviceName={null} onRetry={null} />);
      const row = screen.getByTestId("tool-use");
      expect(row.getAttribute("data-state")).toBe(state);
      expect(row.textContent).toContain(word);
      expect(row.textContent).not.toContain("running");
      expect(screen.queryByTestId("tool-elapsed")).toBeNull();
      cleanup();
    }
  });

  it("a call Claude Code answered as interrupted shows stopped when the run was stopped", () => {
    const interrupted: ProgressEvent = {
      kind: "tool_result",
      toolUseId: "toolu_1",
      summary: "[Request interrupted by user for tool use]",
      isError: true,
    };
    const view: MessageView = {
      ...streamed([...EVENTS.slice(0, 2), interrupted]),
      status: "cancelled",
    };
    render(<AssistantMessage message={view} deviceName={null} onRetry={null} />);
    expect(screen.getByTestId("tool-use").getAttribute("data-state")).toBe("stopped");
    expect(screen.getByTestId("tool-summary").textContent).toBe("Bash · npm test · stopped");
  });

  it("a running tool shows its elapsed time and the activity line says what runs", () => {
    const view = streamed(EVENTS.slice(0, 2));
    render(<AssistantMessage message={view} deviceName={null} onRetry={null} />);
    expect(screen.getByTestId("tool-use").getAttribute("data-state")).toBe("running");
    expect(screen.getByTestId("tool-elapsed").textContent).toMatch(/\d+ s$/);
    expect(screen.getByTestId("activity").textContent).toMatch(/^Running npm test — \d+ s$/);
    expect(activityText(streamed(EVENTS.slice(0, 1)), TASK_ID).text).toBe("Writing…");
    expect(activityText(streamed([]), TASK_ID).text).toBe("Thinking…");
  });
});

describe("tool summaries", () => {
  const call = (name: string, input: unknown, result: ToolCall["result"] = null): ToolCall => ({
    id: "t",
    name,
    input,
    result,
  });

  it("says what each tool did, with paths relative to the workspace", () => {
    const root = workspaceRootOf([call("Read", { file_path: `${ROOT}/src/app.ts` })], TASK_ID);
    expect(root).toBe(ROOT);
    expect(summaryParts(call("Read", { file_path: `${ROOT}/src/app.ts` }), root)).toEqual([
      "src/app.ts",
    ]);
    expect(
      summaryParts(
        call(
          "Write",
          { file_path: `${ROOT}/CHANGELOG.md`, content: "# 1.0\n" },
          { summary: `File created successfully at: ${ROOT}/CHANGELOG.md`, isError: false },
        ),
        root,
      ),
    ).toEqual(["CHANGELOG.md", "(new)"]);
    expect(
      summaryParts(
        call(
          "Bash",
          { command: "npm test" },
          { summary: "Exit code 1\nfail", isError: true, durationMs: 12_000 },
        ),
        root,
      ),
    ).toEqual(["npm test", "exit 1", "12 s"]);
    // A scratch workspace is the folder named after the task.
    expect(workspaceRootOf([call("Bash", { command: `ls /w/ws/${TASK_ID}/src` })], TASK_ID)).toBe(
      `/w/ws/${TASK_ID}`,
    );
  });

  it("draws MultiEdit and Write as diffs and cuts long lines at a word", () => {
    const multi = diffOf(
      call("MultiEdit", {
        file_path: "/a/b.ts",
        edits: [
          { old_string: "a", new_string: "b" },
          { old_string: "c", new_string: "c\nd" },
        ],
      }),
      "/a",
    );
    expect(multi).toMatchObject({ path: "b.ts", added: 2, removed: 1 });
    expect(diffOf(call("Write", { file_path: "/a/n.md", content: "x\ny\n" }), "/a")).toMatchObject({
      added: 2,
      removed: 0,
    });
    expect(oneLine("run the whole test suite of the project please", 20)).toBe(
      "run the whole test…",
    );
  });
});
