import { assertNever, TERMINAL_STATUSES } from "@wegent/protocol";
import type { Message, ProgressEvent } from "@wegent/protocol";

export interface ToolBlock {
  id: string;
  name: string;
  input: unknown;
  result: { summary: string; isError: boolean } | null;
}

/** A message as the conversation shows it: the stored message plus what streamed in live. */
export interface MessageView extends Message {
  /** Highest delta `seq` applied; a delta at or below it is a replay and is ignored. */
  lastSeq: number;
  thinking: string;
  tools: ToolBlock[];
  /** Text arrived past the end of what we have (a gap): the message must be refetched. */
  stale: boolean;
}

export function toView(message: Message): MessageView {
  return { ...message, lastSeq: 0, thinking: "", tools: [], stale: false };
}

export const isTerminal = (message: Pick<Message, "status">): boolean =>
  TERMINAL_STATUSES.has(message.status);

/**
 * Applies one streamed event. Idempotent: a `seq` already seen changes nothing, and text is
 * written at its offset, so a replay of text we already have leaves it as it was.
 */
export function applyDelta(view: MessageView, seq: number, event: ProgressEvent): MessageView {
  if (seq <= view.lastSeq || isTerminal(view)) return view;
  const next: MessageView = {
    ...view,
    lastSeq: seq,
    status: view.status === "pending" || view.status === "queued" ? "running" : view.status,
    queuePosition: null,
  };
  switch (event.kind) {
    case "text": {
      if (event.offset > view.content.length) return { ...next, stale: true };
      const content = view.content;
      next.content =
        content.slice(0, event.offset) +
        event.delta +
        content.slice(event.offset + event.delta.length);
      return next;
    }
    case "thinking":
      next.thinking = view.thinking + event.delta;
      return next;
    case "tool_use": {
      const block: ToolBlock = {
        id: event.toolUseId,
        name: event.name,
        input: event.input,
        result: null,
      };
      const known = view.tools.some((tool) => tool.id === event.toolUseId);
      next.tools = known
        ? view.tools.map((tool) =>
            tool.id === event.toolUseId ? { ...block, result: tool.result } : tool,
          )
        : [...view.tools, block];
      return next;
    }
    case "tool_result": {
      const result = { summary: event.summary, isError: event.isError };
      const known = view.tools.some((tool) => tool.id === event.toolUseId);
      next.tools = known
        ? view.tools.map((tool) => (tool.id === event.toolUseId ? { ...tool, result } : tool))
        : [...view.tools, { id: event.toolUseId, name: "tool", input: null, result }];
      return next;
    }
    default:
      return assertNever(event);
  }
}

/**
 * Merges a freshly fetched message into what we hold. A running message may have streamed
 * further while the request was in flight, so the longer text and the live extras are kept.
 */
export function mergeFetched(held: MessageView | undefined, fetched: Message): MessageView {
  if (!held) return toView(fetched);
  if (isTerminal(fetched)) return { ...held, ...fetched, stale: false };
  // The live channel already told us it ended; this answer was older than that.
  if (isTerminal(held)) return held;
  const content = held.content.length > fetched.content.length ? held.content : fetched.content;
  return { ...held, ...fetched, content, stale: false };
}
