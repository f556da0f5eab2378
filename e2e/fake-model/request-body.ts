// Reading what Claude Code sent: the Messages API body, the latest prompt and how far the
// scripted conversation has got, the latest tool result.
import type { IncomingMessage } from "node:http";
import { z } from "zod";

const ContentBlock = z.looseObject({ type: z.string(), text: z.string().optional() });
const MessageParam = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(ContentBlock)]),
});
export const MessagesBody = z.looseObject({
  model: z.string().optional(),
  stream: z.boolean().optional(),
  messages: z.array(MessageParam),
});
export type MessageParam = z.infer<typeof MessageParam>;

const MAX_BODY_BYTES = 20 * 1024 * 1024;

/**
 * The latest user prompt is the last user message that is not just tool results; the number
 * of assistant messages after it says how far the scripted conversation has got.
 */
export function promptAndStep(messages: MessageParam[]): { prompt: string; step: number } | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!message || message.role !== "user") continue;
    const blocks =
      typeof message.content === "string"
        ? [{ type: "text", text: message.content }]
        : message.content;
    if (blocks.some((b) => b.type === "tool_result")) continue;
    const prompt = blocks
      .filter((b) => b.type === "text" && typeof b.text === "string")
      .map((b) => b.text)
      .join("\n");
    const step = messages.slice(i + 1).filter((m) => m.role === "assistant").length;
    return { prompt, step };
  }
  return null;
}

/** The text of the last tool_result block of the request (what the tool answered). */
export function lastToolResult(messages: MessageParam[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = messages[i]?.content;
    if (!Array.isArray(content)) continue;
    for (let j = content.length - 1; j >= 0; j--) {
      const block = content[j] as { type: string; content?: unknown };
      if (block.type !== "tool_result") continue;
      if (typeof block.content === "string") return block.content;
      if (Array.isArray(block.content)) {
        return block.content
          .map((part: unknown) =>
            typeof part === "object" && part !== null && "text" in part ? String(part.text) : "",
          )
          .join("");
      }
      return "";
    }
  }
  return "";
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
