// Codex's approval requests → the same permission cards as Claude's (runtime/types.ts `ask`):
// Allow once → accept, Allow for this task → acceptForSession, Deny → decline. Anything else
// the server asks is declined (Codex goes on without it).
import type { PermissionMode } from "@wegent/protocol";
import { z } from "zod";
import type { AskForApproval, SandboxMode } from "./app-server-protocol";
import type { InputDecision, InputQuestion, RunRequest } from "../types";

const CommandApproval = z.looseObject({
  itemId: z.string(),
  command: z.string().nullable().optional(),
  cwd: z.string().nullable().optional(),
  reason: z.string().nullable().optional(),
});
const FileApproval = z.looseObject({
  itemId: z.string(),
  reason: z.string().nullable().optional(),
});

export type Decision = "accept" | "acceptForSession" | "decline" | "cancel";

export function decisionOf(answer: InputDecision): Decision {
  if (answer.behavior === "deny") return "decline";
  return answer.remember === "task" ? "acceptForSession" : "accept";
}

/** The question for an approval request, or null for a request we do not ask about. */
export function questionFor(method: string, params: unknown): InputQuestion | null {
  if (method === "item/commandExecution/requestApproval") {
    const p = CommandApproval.safeParse(params);
    if (!p.success) return null;
    return {
      kind: "permission",
      tool: "Bash",
      input: {
        command: p.data.command ?? "",
        ...(p.data.cwd ? { cwd: p.data.cwd } : {}),
        ...(p.data.reason ? { description: p.data.reason } : {}),
      },
    };
  }
  if (method === "item/fileChange/requestApproval") {
    const p = FileApproval.safeParse(params);
    if (!p.success) return null;
    return {
      kind: "permission",
      tool: "apply_patch",
      input: p.data.reason ? { description: p.data.reason } : {},
    };
  }
  return null;
}

export async function answerApproval(
  method: string,
  params: unknown,
  ask: RunRequest["ask"],
  signal: AbortSignal,
): Promise<{ decision: Decision }> {
  const question = questionFor(method, params);
  if (!question || !ask) return { decision: "decline" };
  const answer = await ask(question, signal);
  return { decision: decisionOf(answer) };
}

/**
 * The permission mode in Codex's words. Bypass: never ask, no sandbox (as Claude's
 * bypassPermissions). Plan: read-only. Otherwise every command that is not known safe asks.
 */
export function codexPolicy(mode: PermissionMode): {
  approvalPolicy: AskForApproval;
  sandbox: SandboxMode;
} {
  switch (mode) {
    case "bypassPermissions":
      return { approvalPolicy: "never", sandbox: "danger-full-access" };
    case "plan":
      return { approvalPolicy: "never", sandbox: "read-only" };
    case "acceptEdits":
    case "default":
      return { approvalPolicy: "untrusted", sandbox: "danger-full-access" };
  }
}
