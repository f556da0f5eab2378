// Codex asks before an MCP tool call (approval policy other than "never") with an MCP
// elicitation whose `_meta.codex_approval_kind` is "mcp_tool_call". It becomes the same
// permission card as Claude Code's for an MCP tool (`mcp__<server>__<tool>` and its input):
// Allow once → accept, Allow for this task → accept with `persist: "session"` (when Codex
// offers it), Deny → decline. Any other elicitation (a server's own form or URL) is declined.
import { z } from "zod";
import type { InputQuestion, RunRequest } from "../types";

export const MCP_ELICITATION = "mcpServer/elicitation/request";

const McpToolApproval = z.looseObject({
  serverName: z.string().max(200),
  _meta: z.looseObject({
    codex_approval_kind: z.literal("mcp_tool_call"),
    tool_name: z.string().max(200),
    tool_params: z.unknown().optional(),
    persist: z.array(z.string()).optional(),
  }),
});

/** What Codex expects back (`McpServerElicitationRequestResponse`). */
export interface ElicitationAnswer {
  action: "accept" | "decline" | "cancel";
  content: Record<string, never> | null;
  _meta: { persist: "session" } | null;
}

const DECLINE: ElicitationAnswer = { action: "decline", content: null, _meta: null };

export function mcpApprovalQuestion(params: unknown): InputQuestion | null {
  const p = McpToolApproval.safeParse(params);
  if (!p.success) return null;
  const input = p.data._meta.tool_params;
  return {
    kind: "permission",
    tool: `mcp__${p.data.serverName}__${p.data._meta.tool_name}`,
    input:
      typeof input === "object" && input !== null && !Array.isArray(input)
        ? (input as Record<string, unknown>)
        : {},
  };
}

export async function answerMcpApproval(
  params: unknown,
  ask: RunRequest["ask"],
  signal: AbortSignal,
): Promise<ElicitationAnswer> {
  const question = mcpApprovalQuestion(params);
  if (!question || !ask) return DECLINE;
  const answer = await ask(question, signal);
  if (answer.behavior === "deny") return DECLINE;
  const persist = McpToolApproval.parse(params)._meta.persist ?? [];
  const session = answer.remember === "task" && persist.includes("session");
  return { action: "accept", content: {}, _meta: session ? { persist: "session" } : null };
}
