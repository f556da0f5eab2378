import type { AnswerBlock, Block } from "@wegent/protocol";
import type { ToolCall } from "../lib/tool-summary";

/** One thing the reply shows, in the order it happened. */
export type TranscriptItem =
  | { kind: "text"; key: string; text: string }
  | { kind: "thinking"; key: string; text: string }
  | { kind: "tool"; key: string; call: ToolCall }
  /** A message the owner sent while the agent worked, where the reply took it. */
  | { kind: "taken"; key: string; text: string }
  /** The owner's answer to a request of the agent (Allow, Deny, a question), where it came. */
  | { kind: "answer"; key: string; answer: AnswerBlock };

/**
 * A message's stored (or streamed) blocks as the conversation shows them: text, reasoning and
 * tool calls interleaved as they happened, each tool call with its result at the call's place.
 * Live and after a reload the same blocks give the same items.
 *
 * `content` is the reply as recorded. When the text blocks do not add up to it (a message from
 * before transcripts, a shortened block, a final text that differs from the stream), the tool
 * calls and reasoning keep their order and the recorded reply is shown after them, whole.
 */
export function transcriptOf(blocks: readonly Block[], content: string): TranscriptItem[] {
  const items: TranscriptItem[] = [];
  const calls = new Map<string, ToolCall>();
  let streamed = "";
  blocks.forEach((block, index) => {
    const key = `b${index}`;
    switch (block.type) {
      case "text":
        streamed += block.text;
        items.push({ kind: "text", key, text: block.text });
        break;
      case "thinking":
        items.push({ kind: "thinking", key, text: block.text });
        break;
      case "tool_use": {
        const call: ToolCall = {
          id: block.toolUseId,
          name: block.name,
          input: block.input,
          result: null,
        };
        calls.set(block.toolUseId, call);
        items.push({ kind: "tool", key: `t${block.toolUseId}`, call });
        break;
      }
      case "tool_result": {
        const result = {
          summary: block.summary,
          isError: block.isError,
          ...(block.durationMs !== undefined ? { durationMs: block.durationMs } : {}),
        };
        const call = calls.get(block.toolUseId);
        if (call) call.result = result;
        else {
          // A result whose call was cut from the stored blocks: still shown where it came.
          const orphan = { id: block.toolUseId, name: "tool", input: null, result };
          items.push({ kind: "tool", key: `r${block.toolUseId}`, call: orphan });
        }
        break;
      }
      case "user_message":
        items.push({ kind: "taken", key: `u${block.userMessageId}`, text: block.text });
        break;
      case "input_answer":
        items.push({ kind: "answer", key: `a${block.requestId}`, answer: block });
        break;
    }
  });
  if (streamed === content) {
    return items.filter((item) => item.kind !== "text" || item.text.trim().length > 0);
  }
  const rest = items.filter((item) => item.kind !== "text");
  return content.length > 0 ? [...rest, { kind: "text", key: "content", text: content }] : rest;
}

/** The tool calls of a transcript, in order. */
export const callsOf = (items: readonly TranscriptItem[]): ToolCall[] =>
  items.flatMap((item) => (item.kind === "tool" ? [item.call] : []));
