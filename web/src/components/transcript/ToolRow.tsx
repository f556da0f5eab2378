import { useEffect, useState } from "react";
import {
  diffOf,
  formatBytes,
  formatElapsed,
  SELF_DESCRIBED,
  summaryParts,
  type ToolCall,
  type ToolDiff,
  type ToolState,
} from "../../lib/tool-summary";

const STATE_WORD: Record<ToolState, string> = {
  running: "running",
  waiting: "waiting for your answer",
  done: "",
  error: "",
  stopped: "stopped",
  failed: "failed",
};

/** When this tab first saw each tool call start (the elapsed time of a running row). */
const firstSeen = new Map<string, number>();
export function startedAt(id: string): number {
  let at = firstSeen.get(id);
  if (at === undefined) {
    at = Date.now();
    firstSeen.set(id, at);
  }
  return at;
}

/** Seconds since `since`, ticking while `on`. */
export function useElapsed(since: number, on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return Math.max(0, now - since);
}

/** One tool call: a line that says what it did, its diff when it edits, its output folded. */
export function ToolRow(props: { call: ToolCall; state: ToolState; root: string | null }) {
  const { call, state, root } = props;
  const open = state === "running" || state === "waiting";
  const elapsed = useElapsed(startedAt(call.id), state === "running");
  const parts = summaryParts(call, root, state);
  const word = STATE_WORD[state];
  const diff = diffOf(call, root);
  const output = call.result?.summary ?? "";
  return (
    <div
      className={`tool tool-${state}`}
      data-testid="tool-use"
      data-tool={call.name}
      data-state={state}
    >
      <div className="tool-line" data-testid="tool-summary">
        <span className={`mark mark-${state}`} aria-hidden="true" />
        <span className="tool-name">{call.name}</span>
        {parts.map((part, i) => (
          <span key={i} className="tool-part">
            {" · "}
            {part}
          </span>
        ))}
        {word && <span className="tool-part tool-word">{` · ${word}`}</span>}
        {open && state === "running" && (
          <span className="tool-part muted" data-testid="tool-elapsed">
            {` · ${formatElapsed(elapsed)}`}
          </span>
        )}
      </div>
      {diff && diff.lines.length > 0 && <DiffView diff={diff} />}
      {output.trim().length > 0 && !(diff && !call.result?.isError) && (
        <details className="tool-output" data-testid="tool-output">
          <summary className="muted">{outputLabel(output)}</summary>
          <pre className="code">{output}</pre>
        </details>
      )}
      {!SELF_DESCRIBED.has(call.name) && hasInput(call.input) && (
        <details className="tool-input">
          <summary className="muted">Input</summary>
          <pre className="code">{formatInput(call.input)}</pre>
        </details>
      )}
    </div>
  );
}

function outputLabel(output: string): string {
  const lines = output.replace(/\n$/, "").split("\n").length;
  const size = formatBytes(new TextEncoder().encode(output).length);
  return `Output · ${lines} line${lines === 1 ? "" : "s"} · ${size}`;
}

const FOLDED_DIFF_LINES = 12;

function DiffView(props: { diff: ToolDiff }) {
  const { diff } = props;
  const [all, setAll] = useState(false);
  const lines = all ? diff.lines : diff.lines.slice(0, FOLDED_DIFF_LINES);
  const hidden = diff.lines.length - lines.length;
  return (
    <div className="tool-diff" data-testid="tool-diff">
      <pre className="code diff">
        {lines.map((line, i) => (
          <span key={i} className={`diff-line diff-${line.kind}`}>
            {line.kind === "add" ? "+ " : line.kind === "del" ? "- " : "  "}
            {line.text}
            {"\n"}
          </span>
        ))}
      </pre>
      {hidden > 0 && (
        <button type="button" className="quiet" onClick={() => setAll(true)}>
          {hidden} more line{hidden === 1 ? "" : "s"}
        </button>
      )}
      {all && diff.omitted > 0 && <p className="muted">{diff.omitted} more lines not shown</p>}
    </div>
  );
}

const hasInput = (input: unknown) =>
  input !== null &&
  input !== undefined &&
  !(typeof input === "object" && Object.keys(input as object).length === 0);

function formatInput(input: unknown): string {
  try {
    return JSON.stringify(input, null, 2) ?? String(input);
  } catch {
    return String(input);
  }
}
