import { appendBlock, assertNever, TERMINAL_STATUSES } from "@wegent/protocol";
import type { Block, Message, ProgressEvent } from "@wegent/protocol";

export interface ToolBlock {
  id: string;
  name: string;
  input: unknown;
  result: { summary: string; isError: boolean } | null;
}

/** The tool calls of a message's blocks, each with its result once it came. */
export function toolsOf(blocks: readonly Block[]): ToolBlock[] {
  const tools: ToolBlock[] = [];
  const byId = new Map<string, ToolBlock>();
  for (const block of blocks) {
    if (block.type === "tool_use") {
      const tool = { id: block.toolUseId, name: block.name, input: block.input, result: null };
      byId.set(block.toolUseId, tool);
      tools.push(tool);
    } else if (block.type === "tool_result") {
      const result = { summary: block.summary, isError: block.isError };
      const tool = byId.get(block.toolUseId);
      if (tool) tool.result = result;
      else tools.push({ id: block.toolUseId, name: "tool", input: null, result });
    }
  }
  return tools;
}

/** All the reasoning of a message's blocks. */
export function thinkingOf(blocks: readonly Block[]): string {
  return blocks
    .filter((b) => b.type === "thinking")
    .map((b) => b.text)
    .join("\n\n");
}

/** A message as the conversation shows it: the stored message plus what streamed in live. */
export interface MessageView extends Message {
  /** Highest delta `seq` applied; a delta at or below it is a replay and is ignored. */
  lastSeq: number;
  /** Text arrived past the end of what we have (a gap): the message must be refetched. */
  stale: boolean;
}

export function toView(message: Message): MessageView {
  return { ...message, stale: false };
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
    // Built by the same function as the stored transcript: a reload shows the same.
    blocks: appendBlock(view.blocks, event, view.content.length),
  };
  switch (event.kind) {
    case "text": {
      if (event.offset > view.content.length) return { ...next, blocks: view.blocks, stale: true };
      const content = view.content;
      next.content =
        content.slice(0, event.offset) +
        event.delta +
        content.slice(event.offset + event.delta.length);
      return next;
    }
    case "thinking":
    case "tool_use":
    case "tool_result":
    case "rate_limit":
    case "user_message":
      return next;
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
  if (isTerminal(fetched)) {
    // A message stored before transcripts existed has no blocks: keep what streamed.
    const blocks = fetched.blocks.length > 0 ? fetched.blocks : held.blocks;
    return { ...held, ...fetched, blocks, stale: false };
  }
  // The live channel already told us it ended; this answer was older than that.
  if (isTerminal(held)) return held;
  // Whichever saw more of the output wins; deltas up to its lastSeq are then replays.
  if (held.lastSeq > fetched.lastSeq) {
    const content = held.content.length > fetched.content.length ? held.content : fetched.content;
    return {
      ...held,
      ...fetched,
      content,
      blocks: held.blocks,
      lastSeq: held.lastSeq,
      stale: false,
    };
  }
  const content = held.content.length > fetched.content.length ? held.content : fetched.content;
  return { ...held, ...fetched, content, stale: false };
}
