// What Codex asks → the same cards as Claude's (runtime/types.ts `ask`). Approvals → permission
// cards: Allow once → accept, Allow for this task → acceptForSession, Deny → decline. Its
// `request_user_input` questions (Plan mode) → question cards, answered per question id.
// Anything else the server asks is declined in the shape its method expects (Codex goes on
// without it): MCP elicitations, extra sandbox permissions, dynamic tool calls, logins.
import type { PermissionMode, Question } from "@wegent/protocol";
import { z } from "zod";
import type { AskForApproval, CollaborationMode, SandboxMode } from "./app-server-protocol";
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

/** A question card offers at most this many options (protocol `Question`). */
const MAX_OPTIONS = 10;

const UserInputQuestion = z.looseObject({
  id: z.string().min(1).max(200),
  header: z.string().max(200).catch(""),
  question: z.string().min(1).max(2000),
  isSecret: z.boolean().optional(),
  options: z
    .array(z.looseObject({ label: z.string().min(1).max(500), description: z.string().catch("") }))
    .nullable()
    .optional(),
});
const UserInput = z.looseObject({ questions: z.array(UserInputQuestion).min(1).max(10) });

/** `item/tool/requestUserInput`'s answer: question id → the chosen labels (or typed text). */
export interface UserInputAnswer {
  answers: Record<string, { answers: string[] }>;
}

/**
 * Codex's questions as a question card, or null when they cannot be asked here: a secret one
 * (its answer would be kept in the task's transcript) or an unreadable request.
 */
export function userInputQuestion(params: unknown): {
  question: InputQuestion;
  ids: Map<string, string>;
} | null {
  const p = UserInput.safeParse(params);
  if (!p.success || p.data.questions.some((q) => q.isSecret)) return null;
  const ids = new Map<string, string>(); // question text → Codex's id
  const questions: Question[] = [];
  for (const q of p.data.questions) {
    if (ids.has(q.question)) return null; // answers come back by question text
    ids.set(q.question, q.id);
    questions.push({
      question: q.question,
      header: q.header,
      options: (q.options ?? [])
        .slice(0, MAX_OPTIONS)
        .map((o) => ({ label: o.label, description: o.description.slice(0, 2000) })),
      multiSelect: false,
    });
  }
  return {
    question: { kind: "question", tool: "request_user_input", input: {}, questions },
    ids,
  };
}

/** The card's answers (question text → label) in Codex's words; none when it was skipped. */
export function userInputAnswer(
  decision: InputDecision,
  ids: Map<string, string>,
): UserInputAnswer {
  const answers: UserInputAnswer["answers"] = {};
  if (decision.behavior === "allow" || decision.answers) {
    for (const [text, chosen] of Object.entries(decision.answers ?? {})) {
      const id = ids.get(text);
      if (id !== undefined && chosen.trim() !== "") answers[id] = { answers: [chosen] };
    }
  }
  return { answers };
}

/** Every server request of a running turn: asked on a card, or declined as its method expects. */
export async function answerServerRequest(
  method: string,
  params: unknown,
  ask: RunRequest["ask"],
  signal: AbortSignal,
): Promise<unknown> {
  switch (method) {
    case "item/commandExecution/requestApproval":
    case "item/fileChange/requestApproval": {
      const question = questionFor(method, params);
      if (!question || !ask) return { decision: "decline" };
      return { decision: decisionOf(await ask(question, signal)) };
    }
    case "item/tool/requestUserInput": {
      const asked = userInputQuestion(params);
      if (!asked || !ask) return { answers: {} } satisfies UserInputAnswer;
      return userInputAnswer(await ask(asked.question, signal), asked.ids);
    }
    case "mcpServer/elicitation/request":
      return { action: "decline", content: null, _meta: null };
    case "item/permissions/requestApproval":
      // Nothing granted beyond the sandbox the task's permission mode chose.
      return { permissions: {}, scope: "turn" };
    case "applyPatchApproval":
    case "execCommandApproval":
      return { decision: "denied" };
    default:
      // Dynamic tool calls (none registered), login refreshes, attestation: not ours to answer.
      throw new Error(`Wegent does not answer ${method.slice(0, 100)}`);
  }
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

/**
 * `turn/start`'s collaboration mode (EXPERIMENTAL in app-server, so not in the generated
 * TurnStartParams; `generate-ts --experimental` has it).
 */
export interface CollaborationParams {
  collaborationMode?: CollaborationMode | null;
}

/**
 * Plan mode is also Codex's Plan collaboration mode (its built-in planning instructions, and
 * `request_user_input` questions, which Codex offers only there; its proposed plan comes as a
 * plan item, shown as the end of the reply). It needs the model's name; without one nothing is
 * named and the thread keeps the mode it had.
 */
export function collaborationFor(mode: PermissionMode, model: string | null): CollaborationParams {
  if (!model) return {};
  // Named on every turn: a follow-up in another mode leaves a thread's Plan mode.
  return {
    collaborationMode: {
      mode: mode === "plan" ? "plan" : "default",
      settings: { model, reasoning_effort: null, developer_instructions: null },
    },
  };
}
