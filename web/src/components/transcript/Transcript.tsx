import { memo, useMemo } from "react";
import type { TaskStatus } from "@wegent/protocol";
import { renderMarkdown } from "../../lib/markdown";
import { activityOf, formatElapsed, toolState, workspaceRootOf } from "../../lib/tool-summary";
import { callsOf, transcriptOf, type TranscriptItem } from "../../state/transcript";
import type { MessageView } from "../../state/messages";
import { AnswerRow } from "./AnswerRow";
import { startedAt, ToolRow, useElapsed } from "./ToolRow";

type RowContext = Parameters<typeof toolState>[1];

function rowContext(status: TaskStatus): RowContext {
  switch (status) {
    case "running":
    case "waiting_input":
    case "completed":
    case "failed":
    case "cancelled":
      return status;
    default:
      return "other";
  }
}

/**
 * A reply as it happened: text, reasoning and tool calls in their order. The same component
 * draws a streaming reply and a stored one, from the same blocks.
 */
export function Transcript(props: { message: MessageView; taskId: string | null }) {
  const { message } = props;
  const items = useMemo(
    () => transcriptOf(message.blocks, message.content),
    [message.blocks, message.content],
  );
  const root = useMemo(() => workspaceRootOf(callsOf(items), props.taskId), [items, props.taskId]);
  const context = rowContext(message.status);
  if (items.length === 0) return null;
  return (
    <div className="transcript" data-testid="assistant-content">
      {items.map((item) => (
        <Item key={item.key} item={item} context={context} root={root} />
      ))}
    </div>
  );
}

function Item(props: { item: TranscriptItem; context: RowContext; root: string | null }) {
  const { item } = props;
  switch (item.kind) {
    case "text":
      return <Markdown source={item.text} />;
    case "thinking":
      return (
        <details className="reasoning" data-testid="reasoning">
          <summary>Reasoning</summary>
          <p className="thinking-text">{item.text}</p>
        </details>
      );
    case "tool":
      return (
        <ToolRow call={item.call} state={toolState(item.call, props.context)} root={props.root} />
      );
    case "taken":
      return (
        <blockquote className="taken" data-testid="taken-message">
          <span className="muted">You, while it worked:</span> {item.text}
        </blockquote>
      );
    case "answer":
      return <AnswerRow answer={item.answer} root={props.root} />;
  }
}

/** Markdown is re-rendered only when the text changes, not on every status frame. */
const Markdown = memo(function Markdown(props: { source: string }) {
  const html = useMemo(() => renderMarkdown(props.source.replace(/^\n+/, "")), [props.source]);
  // renderMarkdown escapes raw HTML and drops unsafe links: the output is safe to insert.
  return (
    <div
      className="markdown"
      data-testid="assistant-text"
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
});

/** What the agent is doing now, in words: "Running npm test — 12 s", "Writing…". */
export function activityText(
  message: MessageView,
  taskId: string | null,
): {
  text: string;
  since: number | null;
} {
  switch (message.status) {
    case "queued":
      return { text: "Waiting for a free slot…", since: null };
    case "pending":
      return { text: "Sending to the device…", since: null };
    case "cancelling":
      return { text: "Stopping…", since: null };
    case "waiting_input":
      return { text: "Waiting for your answer…", since: null };
    default:
  }
  const items = transcriptOf(message.blocks, message.content);
  const calls = callsOf(items);
  const open = calls.findLast((call) => call.result === null);
  if (open) {
    return { text: activityOf(open, workspaceRootOf(calls, taskId)), since: startedAt(open.id) };
  }
  const last = message.blocks[message.blocks.length - 1];
  if (last?.type === "text") return { text: "Writing…", since: null };
  if (last?.type === "tool_result") return { text: "Reading the result…", since: null };
  return { text: "Thinking…", since: null };
}

export function ActivityLine(props: { message: MessageView; taskId: string | null }) {
  const { text, since } = activityText(props.message, props.taskId);
  const elapsed = useElapsed(since ?? 0, since !== null);
  return (
    <div className="working" data-testid="thinking-indicator">
      <span className="pulse" aria-hidden="true" />
      <span data-testid="activity">
        {since !== null ? `${text} — ${formatElapsed(elapsed)}` : text}
      </span>
    </div>
  );
}
