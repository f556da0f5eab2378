// Codex's `mcpToolCall` items → the same transcript blocks as Claude Code's MCP tool calls: a
// tool call named `mcp__<server>__<tool>` with its arguments, and its result (the text parts
// of the server's answer, or its error).
import type { ProgressEvent } from "@wegent/protocol";
import { z } from "zod";

const MAX_SUMMARY = 16 * 1024;

const McpItem = z.looseObject({
  item: z.looseObject({
    type: z.literal("mcpToolCall"),
    id: z.string().max(200),
    server: z.string().max(200),
    tool: z.string().max(200),
    status: z.string().optional(),
    arguments: z.unknown().optional(),
    result: z
      .looseObject({ content: z.array(z.unknown()) })
      .nullable()
      .optional(),
    error: z.looseObject({ message: z.string() }).nullable().optional(),
  }),
});

function text(content: unknown[]): string {
  return content
    .map((part) => {
      if (typeof part === "object" && part !== null && "text" in part) return String(part.text);
      return JSON.stringify(part);
    })
    .join("\n");
}

function clip(value: string): string {
  return value.length > MAX_SUMMARY ? `${value.slice(0, MAX_SUMMARY - 20)}\n… (truncated)` : value;
}

/** The tool call of an `item/started` notification of an MCP tool call, else null. */
export function mcpToolUse(params: unknown): Extract<ProgressEvent, { kind: "tool_use" }> | null {
  const p = McpItem.safeParse(params);
  if (!p.success) return null;
  const { item } = p.data;
  return {
    kind: "tool_use",
    toolUseId: item.id,
    name: `mcp__${item.server}__${item.tool}`.slice(0, 200),
    input: item.arguments ?? {},
  };
}

/** The result of an `item/completed` notification of an MCP tool call, else null. */
export function mcpToolResult(
  params: unknown,
  durationMs: number,
): Extract<ProgressEvent, { kind: "tool_result" }> | null {
  const p = McpItem.safeParse(params);
  if (!p.success) return null;
  const { item } = p.data;
  const failed = item.status !== "completed" || Boolean(item.error);
  return {
    kind: "tool_result",
    toolUseId: item.id,
    summary: clip(item.error?.message ?? text(item.result?.content ?? [])),
    isError: failed,
    durationMs,
  };
}
