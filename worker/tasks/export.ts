import type { Block, Message, TaskWithMessages } from "@wegent/protocol";
import { answerMarkdown } from "./export-answer";

// A whole task, downloadable: JSON (the API's own shape) or Markdown for reading.

export function exportJson(record: TaskWithMessages): string {
  return `${JSON.stringify({ exportedAt: new Date().toISOString(), ...record }, null, 2)}\n`;
}

/** A fence longer than any run of backticks in `text`, so the text cannot close it. */
function fence(text: string, lang = ""): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${lang}\n${text}\n${ticks}`;
}

function quote(text: string): string {
  return text
    .split("\n")
    .map((line) => `> ${line}`)
    .join("\n");
}

function blockMarkdown(block: Block): string {
  switch (block.type) {
    case "text":
      return block.text.trim();
    case "thinking":
      return `<details><summary>Thinking</summary>\n\n${quote(block.text.trim())}\n\n</details>`;
    case "tool_use":
      return `**Tool: ${block.name}**\n\n${fence(JSON.stringify(block.input, null, 2) ?? "null", "json")}`;
    case "tool_result":
      return `**Result${block.isError ? " (error)" : ""}**\n\n${fence(block.summary)}`;
    case "rate_limit":
      return "";
    case "user_message":
      return `**You (while it worked)**\n\n${quote(block.text.trim())}`;
    case "input_answer":
      return answerMarkdown(block);
  }
}

function messageMarkdown(message: Message): string {
  if (message.role === "user") return `## You\n\n${message.content}`;
  const head = `## Agent (${message.status}${message.permissionMode ? `, ${message.permissionMode}` : ""})`;
  const body =
    message.blocks.length > 0
      ? message.blocks.map(blockMarkdown).filter(Boolean).join("\n\n")
      : message.content;
  const error = message.errorMessage
    ? `\n\n*${message.errorCode ?? "error"}: ${message.errorMessage}*`
    : "";
  return `${head}\n\n${body}${error}`;
}

export function exportMarkdown(record: TaskWithMessages): string {
  const { task } = record;
  const head = `# ${task.title || "Untitled"}\n\n- Task: ${task.id}\n- Status: ${task.status}\n- Created: ${task.createdAt}\n- Exported: ${new Date().toISOString()}`;
  return `${[head, ...record.messages.map(messageMarkdown)].join("\n\n")}\n`;
}
