import { memo, useMemo } from "react";
import { renderMarkdown } from "../lib/markdown";
import {
  isTerminal,
  thinkingOf,
  toolsOf,
  type MessageView as View,
  type ToolBlock,
} from "../state/messages";
import { StatusBadge } from "./StatusBadge";
import { MessageUsage } from "./Usage";

export function UserMessage(props: { message: View; onRemove?: (() => void) | null }) {
  const { message } = props;
  const queued = message.status === "queued";
  return (
    <article
      className={`message user${queued ? " queued" : ""}`}
      data-testid="user-message"
      data-status={message.status}
      aria-label="Your message"
    >
      <p className="message-text">{message.content}</p>
      {queued && (
        <p className="muted queued-note" data-testid="queued-note">
          Waiting: the agent takes it when its current step ends.{" "}
          {props.onRemove && (
            <button
              type="button"
              className="quiet"
              data-testid="remove-queued"
              onClick={props.onRemove}
            >
              Remove
            </button>
          )}
        </p>
      )}
      {message.status === "cancelled" && (
        <p className="muted" data-testid="queued-cancelled">
          Not sent: the reply ended before the agent took it.
        </p>
      )}
    </article>
  );
}

/** Messages the owner sent while this reply ran, which it took (in order). */
function TakenMessages(props: { message: View }) {
  const taken = props.message.blocks.filter((b) => b.type === "user_message");
  if (taken.length === 0) return null;
  return (
    <div className="taken-messages">
      {taken.map((b) => (
        <blockquote key={b.userMessageId} className="taken" data-testid="taken-message">
          <span className="muted">You, while it worked:</span> {b.text}
        </blockquote>
      ))}
    </div>
  );
}

export function AssistantMessage(props: {
  message: View;
  deviceName: string | null;
  onRetry: (() => void) | null;
}) {
  const { message } = props;
  const working = !isTerminal(message);
  const tools = useMemo(() => toolsOf(message.blocks), [message.blocks]);
  const thinking = useMemo(() => thinkingOf(message.blocks), [message.blocks]);
  return (
    <article
      className={`message assistant status-${message.status}`}
      data-testid="assistant-message"
      data-message-id={message.id}
      data-status={message.status}
      aria-busy={working}
      aria-label="Agent reply"
    >
      <header className="message-head">
        <StatusBadge status={message.status} />
        {props.deviceName && <span className="muted">on {props.deviceName}</span>}
        {message.status === "queued" && message.queuePosition !== null && (
          <span className="muted" data-testid="queue-position">
            #{message.queuePosition} in queue
          </span>
        )}
        {message.status === "queued" && message.queueReason && (
          <span className="muted" data-testid="queue-reason">
            {message.queueReason}
          </span>
        )}
      </header>
      {thinking && (
        <details className="reasoning" data-testid="reasoning">
          <summary>Reasoning</summary>
          <p className="thinking-text">{thinking}</p>
        </details>
      )}
      {tools.map((tool) => (
        <ToolUse key={tool.id} tool={tool} waiting={message.status === "waiting_input"} />
      ))}
      <TakenMessages message={message} />
      {message.content && <Markdown source={message.content} />}
      {working && <WorkingIndicator message={message} />}
      {message.status === "failed" && (
        <div className="error" role="alert" data-testid="message-error">
          <p>{message.errorMessage ?? "The agent failed."}</p>
          {props.onRetry && (
            <button type="button" onClick={props.onRetry} data-testid="retry-button">
              Retry
            </button>
          )}
        </div>
      )}
      {message.status === "cancelled" && <p className="muted">Stopped.</p>}
      {!working && <MessageUsage message={message} />}
    </article>
  );
}

function WorkingIndicator(props: { message: View }) {
  const { message } = props;
  const text =
    message.status === "queued"
      ? "Waiting for a free slot…"
      : message.status === "pending"
        ? "Sending to the device…"
        : message.status === "cancelling"
          ? "Stopping…"
          : message.status === "waiting_input"
            ? "Waiting for your answer…"
            : "Thinking…";
  return (
    <div className="working" data-testid="thinking-indicator">
      <span className="pulse" aria-hidden="true" />
      <span>{text}</span>
    </div>
  );
}

function ToolUse(props: { tool: ToolBlock; waiting: boolean }) {
  const { tool } = props;
  const state = tool.result === null ? "running" : tool.result.isError ? "error" : "done";
  return (
    <details className={`tool tool-${state}`} data-testid="tool-use">
      <summary>
        <span className="tool-name">{tool.name}</span>{" "}
        <span className="muted">
          {state === "running"
            ? props.waiting
              ? "waiting for your answer"
              : "running…"
            : state === "error"
              ? "failed"
              : "done"}
        </span>
      </summary>
      {tool.input !== null && tool.input !== undefined && (
        <pre className="code">{formatInput(tool.input)}</pre>
      )}
      {tool.result && <pre className="code tool-result">{tool.result.summary}</pre>}
    </details>
  );
}

function formatInput(input: unknown): string {
  try {
    return JSON.stringify(input, null, 2) ?? String(input);
  } catch {
    return String(input);
  }
}

/** Markdown is re-rendered only when the text changes, not on every status frame. */
const Markdown = memo(function Markdown(props: { source: string }) {
  const html = useMemo(() => renderMarkdown(props.source), [props.source]);
  // renderMarkdown escapes raw HTML and drops unsafe links: the output is safe to insert.
  return (
    <div
      className="markdown"
      data-testid="assistant-content"
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
});
