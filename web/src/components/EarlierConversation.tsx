import { useEffect, useState } from "react";
import { LocalTranscriptBody } from "@wegent/protocol";
import { api, errorText } from "../api";
import { transcriptOf } from "../state/transcript";
import { ToolRow } from "./transcript/ToolRow";

/**
 * A terminal session's conversation (Claude Code's or a Codex thread's), read from the device on demand: shown above
 * a task that continues it, and as a session's preview in "On this device".
 */
export function EarlierConversation(props: {
  deviceId: string;
  sessionId: string;
  /** The heading: "Earlier, in the terminal" above a task; none in a preview. */
  heading?: string;
  /**
   * The task's first message: Claude Code writes the continued exchange into the same session,
   * so what the task shows itself is cut from the earlier conversation (from this prompt on).
   */
  until?: string;
}) {
  const [body, setBody] = useState<LocalTranscriptBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    setBody(null);
    setError(null);
    api(
      "GET",
      `/api/devices/${encodeURIComponent(props.deviceId)}/sessions/${encodeURIComponent(props.sessionId)}`,
      LocalTranscriptBody,
    )
      .then((read) => current && setBody(read))
      .catch((failure: unknown) => current && setError(errorText(failure)));
    return () => {
      current = false;
    };
  }, [props.deviceId, props.sessionId]);

  const entries = body ? before(body.messages, props.until) : null;
  const agent = body?.session.runtime === "codex" ? "Codex" : "Claude";
  return (
    <section className="earlier-conversation" data-testid="earlier-conversation">
      {props.heading && <h2 className="earlier-heading">{props.heading}</h2>}
      {error && (
        <p className="error" role="alert">
          The earlier conversation could not be read from the device: {error}
        </p>
      )}
      {!body && !error && <p className="muted">Reading the earlier conversation…</p>}
      {body?.truncated && <p className="muted">Older messages are left out.</p>}
      {entries?.length === 0 && <p className="muted">This session has no messages yet.</p>}
      {entries?.map((entry, index) => (
        <div
          key={index}
          className={`earlier-entry ${entry.role}`}
          data-testid="earlier-entry"
          data-role={entry.role}
        >
          <span className="earlier-role muted">{entry.role === "user" ? "You" : agent}</span>
          {entry.blocks ? (
            <Steps blocks={entry.blocks} text={entry.text} />
          ) : (
            <p className="earlier-text">{entry.text}</p>
          )}
        </div>
      ))}
    </section>
  );
}

/** A reply's steps as a task's reply shows them: its text, each tool call with its result. */
function Steps(props: { blocks: NonNullable<Entry["blocks"]>; text: string }) {
  return (
    <div className="earlier-steps">
      {transcriptOf(props.blocks, props.text).map((item) => {
        if (item.kind === "tool") {
          const state = !item.call.result ? "stopped" : item.call.result.isError ? "error" : "done";
          return <ToolRow key={item.key} call={item.call} state={state} root={null} />;
        }
        if (item.kind === "text") {
          return (
            <p key={item.key} className="earlier-text">
              {item.text}
            </p>
          );
        }
        return null;
      })}
    </div>
  );
}

type Entry = LocalTranscriptBody["messages"][number];

/** The entries before the task's own first message (all of them when it is not there). */
function before(
  entries: LocalTranscriptBody["messages"],
  prompt: string | undefined,
): LocalTranscriptBody["messages"] {
  const wanted = prompt?.trim();
  if (!wanted) return entries;
  const cut = entries.findIndex((e) => e.role === "user" && e.text.trim() === wanted);
  return cut < 0 ? entries : entries.slice(0, cut);
}
