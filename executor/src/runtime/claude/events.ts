// Turns Claude Code's SDK messages into ProgressEvents.
//
// "The reply" is every piece of text the main agent wrote during the message, in order,
// across all its model turns (e.g. "I'll create the file." before a tool use and "Done." after
// it), with a blank line between text blocks. That is what the user watched stream, so the
// final text is exactly the concatenation of the streamed text deltas. Sub-agent text (Task
// tool) is not part of the reply; sub-agent tool calls are still shown.
import type { SDKMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ProgressEvent } from "@wegent/protocol";

/** Largest tool result summary sent to the server. */
export const TOOL_RESULT_SUMMARY_CHARS = 2000;
const BLOCK_SEPARATOR = "\n\n";
const MAX_ID_CHARS = 200;

export function truncateSummary(text: string, limit = TOOL_RESULT_SUMMARY_CHARS): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}\n… [truncated: ${text.length - limit} more characters]`;
}

/** Plain-text view of a tool_result block's content (string, or text/image blocks). */
function toolResultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => {
      if (typeof part !== "object" || part === null) return "";
      const block = part as { type?: unknown; text?: unknown };
      if (block.type === "text" && typeof block.text === "string") return block.text;
      return `[${typeof block.type === "string" ? block.type : "content"}]`;
    })
    .join("\n");
}

export class ReplyStream {
  /** The reply so far: the concatenation of every text delta emitted. */
  text = "";
  private newBlock = false;
  /** When each open tool call was announced, to time it. */
  private readonly toolStarts = new Map<string, number>();

  constructor(private readonly emit: (event: ProgressEvent) => void) {}

  private appendText(delta: string): void {
    if (delta.length === 0) return;
    if (this.newBlock && this.text.length > 0) {
      this.emit({ kind: "text", offset: this.text.length, delta: BLOCK_SEPARATOR });
      this.text += BLOCK_SEPARATOR;
    }
    this.newBlock = false;
    this.emit({ kind: "text", offset: this.text.length, delta });
    this.text += delta;
  }

  /**
   * For a run that produced a final answer without streaming it (no partial messages), so
   * the streamed text still equals the final text.
   */
  ensureText(finalText: string): void {
    if (this.text.length === 0 && finalText.length > 0) {
      this.newBlock = false;
      this.appendText(finalText);
    }
  }

  handle(message: SDKMessage): void {
    if (message.type === "stream_event") {
      if (message.parent_tool_use_id !== null) return;
      const event = message.event;
      if (event.type === "content_block_start" && event.content_block.type === "text") {
        this.newBlock = true;
        this.appendText(event.content_block.text);
      } else if (event.type === "content_block_delta") {
        if (event.delta.type === "text_delta") this.appendText(event.delta.text);
        else if (event.delta.type === "thinking_delta" && event.delta.thinking.length > 0) {
          this.emit({ kind: "thinking", delta: event.delta.thinking });
        }
      }
      return;
    }
    if (message.type === "assistant") {
      // Tool calls are announced once complete (the stream only has partial JSON input).
      for (const block of message.message.content) {
        if (block.type === "tool_use") {
          this.toolStarts.set(block.id, Date.now());
          this.emit({
            kind: "tool_use",
            toolUseId: block.id.slice(0, MAX_ID_CHARS),
            name: block.name.slice(0, MAX_ID_CHARS),
            input: block.input,
          });
        }
      }
      return;
    }
    if (message.type === "user") {
      const content = message.message.content;
      if (typeof content === "string") return;
      for (const block of content) {
        if (block.type === "tool_result") {
          const started = this.toolStarts.get(block.tool_use_id);
          this.toolStarts.delete(block.tool_use_id);
          this.emit({
            kind: "tool_result",
            toolUseId: block.tool_use_id.slice(0, MAX_ID_CHARS),
            summary: truncateSummary(toolResultText(block.content)),
            isError: block.is_error === true,
            ...(started !== undefined
              ? { durationMs: Math.min(86_400_000, Math.max(0, Date.now() - started)) }
              : {}),
          });
        }
      }
    }
  }
}
