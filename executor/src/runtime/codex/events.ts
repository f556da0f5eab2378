// Codex's notifications → the transcript's events, the same ones Claude Code's produce: text
// deltas with their offset, commandExecution / fileChange items as a tool call and its result,
// token usage, and the end of the turn. Checked with zod: only what is read is required.
import type { FailureCode, ProgressEvent, Usage } from "@wegent/protocol";
import { z } from "zod";
import { mcpToolResult, mcpToolUse } from "./mcp-items";

const MAX_SUMMARY = 16 * 1024;

const Delta = z.looseObject({ itemId: z.string(), delta: z.string() });
/** A thread item as far as it is read: live (`item/started` / `item/completed`) or stored. */
export const ToolItem = z.looseObject({
  type: z.string(),
  id: z.string(),
  text: z.string().optional(),
  command: z.string().optional(),
  cwd: z.string().optional(),
  aggregatedOutput: z.string().nullable().optional(),
  exitCode: z.number().nullable().optional(),
  status: z.string().optional(),
  changes: z
    .array(z.looseObject({ path: z.string(), diff: z.string().optional(), kind: z.unknown() }))
    .optional(),
});
export type ToolItem = z.infer<typeof ToolItem>;
const ItemEvent = z.looseObject({ item: ToolItem });
const Breakdown = z.looseObject({
  inputTokens: z.number(),
  cachedInputTokens: z.number(),
  outputTokens: z.number(),
});
const TokenUsage = z.looseObject({
  tokenUsage: z.looseObject({
    last: Breakdown,
    modelContextWindow: z.number().nullable().optional(),
  }),
});
const TurnCompleted = z.looseObject({
  turn: z.looseObject({
    id: z.string(),
    status: z.string(),
    error: z
      .looseObject({ message: z.string(), codexErrorInfo: z.unknown().optional() })
      .nullable()
      .optional(),
  }),
});

export type TurnEnd =
  { ok: true } | { ok: false; code: FailureCode; message: string; interrupted: boolean };

function clip(text: string): string {
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 20)}\n… (truncated)` : text;
}

/** What the credentials problem looks like in Codex's error info. */
function failureCode(info: unknown): FailureCode {
  const text = JSON.stringify(info ?? "").toLowerCase();
  return text.includes("unauthorized") ? "credentials_invalid" : "agent_error";
}

/** A file change's kind: "add", "delete" or "update" (its diff is then a unified diff). */
function kindOf(kind: unknown): string | null {
  const parsed = z.looseObject({ type: z.string().max(20) }).safeParse(kind);
  return parsed.success ? parsed.data.type : null;
}

/**
 * A command or file change as the tool call a task's transcript shows (Codex's shell as
 * `Bash`, its patches as `apply_patch` with each file's diff); null for any other item.
 */
export function toolUseOf(item: ToolItem): ProgressEvent | null {
  if (item.type === "commandExecution") {
    return {
      kind: "tool_use",
      toolUseId: item.id,
      name: "Bash",
      input: { command: item.command ?? "", ...(item.cwd ? { cwd: item.cwd } : {}) },
    };
  }
  if (item.type === "fileChange") {
    return {
      kind: "tool_use",
      toolUseId: item.id,
      name: "apply_patch",
      input: {
        changes: (item.changes ?? []).map((c) => ({
          path: c.path,
          ...(kindOf(c.kind) ? { kind: kindOf(c.kind) } : {}),
          diff: c.diff ?? "",
        })),
      },
    };
  }
  return null;
}

/** The result of a finished command (its output) or file change (the files), else null. */
export function toolResultOf(item: ToolItem, durationMs: number): ProgressEvent | null {
  if (item.type === "commandExecution") {
    const failed = item.status !== "completed" || (item.exitCode ?? 0) !== 0;
    return {
      kind: "tool_result",
      toolUseId: item.id,
      summary: clip(item.aggregatedOutput ?? (item.status === "declined" ? "Declined." : "")),
      isError: failed,
      durationMs,
    };
  }
  if (item.type === "fileChange") {
    const paths = (item.changes ?? []).map((c) => c.path).join("\n");
    return {
      kind: "tool_result",
      toolUseId: item.id,
      summary: clip(
        item.status === "completed" ? `Changed:\n${paths}` : `Not applied (${item.status ?? "?"})`,
      ),
      isError: item.status !== "completed",
      durationMs,
    };
  }
  return null;
}

export class CodexReply {
  text = "";
  /** The plan the turn proposed (Plan mode), when it did. */
  plan: string | null = null;
  usage: Usage | null = null;
  private readonly started = new Map<string, number>();

  constructor(
    private readonly onEvent: (event: ProgressEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** One notification; returns the end of the turn when it is `turn/completed`. */
  take(method: string, params: unknown): TurnEnd | null {
    switch (method) {
      case "item/agentMessage/delta": {
        const p = Delta.safeParse(params);
        if (!p.success || p.data.delta === "") return null;
        this.onEvent({ kind: "text", offset: this.text.length, delta: p.data.delta });
        this.text += p.data.delta;
        return null;
      }
      case "item/reasoning/textDelta":
      case "item/reasoning/summaryTextDelta": {
        const p = Delta.safeParse(params);
        if (p.success && p.data.delta) this.onEvent({ kind: "thinking", delta: p.data.delta });
        return null;
      }
      case "item/started":
        this.itemStarted(params);
        return null;
      case "item/completed":
        this.itemCompleted(params);
        return null;
      case "thread/tokenUsage/updated":
        this.tokenUsage(params);
        return null;
      case "turn/completed":
        return this.turnCompleted(params);
      default:
        return null;
    }
  }

  private itemStarted(params: unknown): void {
    const p = ItemEvent.safeParse(params);
    if (!p.success) return;
    const mcp = mcpToolUse(params);
    const event = mcp ?? toolUseOf(p.data.item);
    if (!event) return;
    this.started.set(p.data.item.id, this.now());
    this.onEvent(event);
  }

  private itemCompleted(params: unknown): void {
    const p = ItemEvent.safeParse(params);
    if (!p.success) return;
    const { item } = p.data;
    if (item.type === "plan") {
      this.planCompleted(item.text ?? "");
      return;
    }
    const startedAt = this.started.get(item.id);
    if (startedAt === undefined) return;
    this.started.delete(item.id);
    const durationMs = Math.max(0, Math.round(this.now() - startedAt));
    const event = mcpToolResult(params, durationMs) ?? toolResultOf(item, durationMs);
    if (event) this.onEvent(event);
  }

  /**
   * Plan mode: Codex takes the `<proposed_plan>` out of the agent's message into a plan item.
   * It is the point of the turn, so it goes into the reply, after what the agent said.
   */
  private planCompleted(plan: string): void {
    const text = plan.trim();
    if (!text) return;
    const delta = this.text.length > 0 && !this.text.endsWith("\n\n") ? `\n\n${text}` : text;
    this.onEvent({ kind: "text", offset: this.text.length, delta });
    this.text += delta;
    this.plan = text;
  }

  private tokenUsage(params: unknown): void {
    const p = TokenUsage.safeParse(params);
    if (!p.success) return;
    const { last, modelContextWindow } = p.data.tokenUsage;
    const before = this.usage;
    this.usage = {
      inputTokens:
        (before?.inputTokens ?? 0) + Math.max(0, last.inputTokens - last.cachedInputTokens),
      outputTokens: (before?.outputTokens ?? 0) + last.outputTokens,
      cacheReadTokens: (before?.cacheReadTokens ?? 0) + last.cachedInputTokens,
      cacheWriteTokens: 0,
      contextTokens: last.inputTokens,
      ...(modelContextWindow ? { contextWindow: modelContextWindow } : {}),
    };
  }

  private turnCompleted(params: unknown): TurnEnd {
    const p = TurnCompleted.safeParse(params);
    if (!p.success)
      return {
        ok: false,
        code: "agent_error",
        message: "Codex ended the turn unreadably.",
        interrupted: false,
      };
    const { turn } = p.data;
    if (turn.status === "completed") return { ok: true };
    if (turn.status === "interrupted") {
      return { ok: false, code: "cancelled", message: "Cancelled.", interrupted: true };
    }
    return {
      ok: false,
      code: failureCode(turn.error?.codexErrorInfo),
      message: turn.error?.message ?? `Codex ended the turn: ${turn.status}.`,
      interrupted: false,
    };
  }
}
