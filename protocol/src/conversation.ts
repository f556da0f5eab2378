import { z } from "zod";
import { DisplayName, type ProgressEvent, RateLimit } from "./common";
import { RuntimeId } from "./runtimes";

// The conversation as a record: the ordered blocks of an assistant message, the requests the
// agent makes of the user (a permission, a question), presets and the user's settings.

/** How the agent may use tools. `default` asks the user for anything that needs permission. */
export const PermissionMode = z.enum(["default", "acceptEdits", "bypassPermissions", "plan"]);
export type PermissionMode = z.infer<typeof PermissionMode>;
export const DEFAULT_PERMISSION_MODE: PermissionMode = "bypassPermissions";

// --- transcript blocks -------------------------------------------------------------------------

/** `plan`: plan mode's ExitPlanMode — approve the plan (the run goes on) or keep planning. */
export const InputKind = z.enum(["permission", "question", "plan"]);
export type InputKind = z.infer<typeof InputKind>;

/** How a request ended. */
export const InputOutcome = z.enum(["allowed", "denied", "answered", "expired", "ended"]);
export type InputOutcome = z.infer<typeof InputOutcome>;

/**
 * A request of the agent as it was answered, recorded by the DeviceHub in the reply's blocks at
 * the point of the reply where it was answered: who answered, when, and what they chose.
 */
export const AnswerBlock = z.object({
  type: z.literal("input_answer"),
  requestId: z.string(),
  kind: InputKind,
  tool: z.string(),
  /** What was asked about, in one line: the command, the file, the question. */
  subject: z.string(),
  outcome: InputOutcome,
  /** Allowed for the rest of the task, not only once. */
  remember: z.literal("task").optional(),
  /** A question's answers: question → the chosen label(s). */
  answers: z.record(z.string(), z.string()).optional(),
  /** The reason the person gave with a Deny. */
  note: z.string().optional(),
  /** Who answered (the account's username); `null` when nobody did (it expired). */
  by: z.string().nullable(),
  at: z.string(),
});
export type AnswerBlock = z.infer<typeof AnswerBlock>;

/** "Allowed once", "Allowed for this task", "Denied", "Answered", "Plan approved"… */
export function answerVerdict(block: Pick<AnswerBlock, "kind" | "outcome" | "remember">): string {
  if (block.kind === "plan") {
    if (block.outcome === "allowed") return "Plan approved";
    if (block.outcome === "denied") return "Plan not approved (keep planning)";
  }
  switch (block.outcome) {
    case "allowed":
      return block.remember === "task" ? "Allowed for this task" : "Allowed once";
    case "denied":
      return block.kind === "question" ? "Declined to answer" : "Denied";
    case "answered":
      return "Answered";
    case "expired":
      return "Expired unanswered (denied)";
    case "ended":
      return "Closed with the reply";
  }
}

/** An answer's place in a run of events (built by the hub, never sent by an executor). */
export interface AnsweredEvent {
  kind: "answered";
  block: AnswerBlock;
}

export const Block = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({ type: z.literal("thinking"), text: z.string() }),
  z.object({
    type: z.literal("tool_use"),
    toolUseId: z.string(),
    name: z.string(),
    input: z.unknown(),
  }),
  z.object({
    type: z.literal("tool_result"),
    toolUseId: z.string(),
    summary: z.string(),
    isError: z.boolean(),
    durationMs: z.number().optional(),
  }),
  /** The latest rate-limit state reported during this message (one block, replaced). */
  z.object({ type: z.literal("rate_limit"), limit: RateLimit }),
  /** A message the owner sent while the agent worked, where the running reply took it. */
  z.object({ type: z.literal("user_message"), userMessageId: z.string(), text: z.string() }),
  AnswerBlock,
]);
export type Block = z.infer<typeof Block>;

/**
 * Adds one streamed event to a message's blocks: consecutive text (or thinking) deltas grow the
 * last block, everything else starts a new one. Text deltas are written at their offset in the
 * reply, so a replayed delta changes nothing. The live view and the stored transcript are both
 * built with this one function, so they show the same thing.
 */
export function appendBlock(
  blocks: Block[],
  event: ProgressEvent | AnsweredEvent,
  replyLength: number,
): Block[] {
  const last = blocks[blocks.length - 1];
  switch (event.kind) {
    case "text": {
      if (event.offset + event.delta.length <= replyLength) return blocks; // a replay
      const delta = event.delta.slice(Math.max(0, replyLength - event.offset));
      if (last?.type === "text") {
        return [...blocks.slice(0, -1), { type: "text", text: last.text + delta }];
      }
      return [...blocks, { type: "text", text: delta }];
    }
    case "thinking":
      if (last?.type === "thinking") {
        return [...blocks.slice(0, -1), { type: "thinking", text: last.text + event.delta }];
      }
      return [...blocks, { type: "thinking", text: event.delta }];
    case "tool_use":
      if (blocks.some((b) => b.type === "tool_use" && b.toolUseId === event.toolUseId)) {
        return blocks;
      }
      return [
        ...blocks,
        { type: "tool_use", toolUseId: event.toolUseId, name: event.name, input: event.input },
      ];
    case "tool_result":
      if (blocks.some((b) => b.type === "tool_result" && b.toolUseId === event.toolUseId)) {
        return blocks;
      }
      return [
        ...blocks,
        {
          type: "tool_result",
          toolUseId: event.toolUseId,
          summary: event.summary,
          isError: event.isError,
          ...(event.durationMs !== undefined ? { durationMs: event.durationMs } : {}),
        },
      ];
    case "rate_limit":
      // Only the latest state matters: it replaces an earlier one of the same message.
      return [
        ...blocks.filter((b) => b.type !== "rate_limit"),
        { type: "rate_limit", limit: event.limit },
      ];
    case "user_message":
      if (
        blocks.some((b) => b.type === "user_message" && b.userMessageId === event.userMessageId)
      ) {
        return blocks;
      }
      return [
        ...blocks,
        { type: "user_message", userMessageId: event.userMessageId, text: event.text },
      ];
    case "answered":
      if (blocks.some((b) => b.type === "input_answer" && b.requestId === event.block.requestId)) {
        return blocks;
      }
      return [...blocks, event.block];
  }
}

/** The blocks of a whole run of events, in order. */
export function blocksOf(events: Iterable<ProgressEvent | AnsweredEvent>): Block[] {
  // Mutating build (the immutable appendBlock is for the UI): long replies stay linear.
  const blocks: Block[] = [];
  let reply = 0;
  for (const event of events) {
    const last = blocks[blocks.length - 1];
    if (event.kind === "text") {
      if (event.offset + event.delta.length <= reply) continue;
      const delta = event.delta.slice(Math.max(0, reply - event.offset));
      reply += delta.length;
      if (last?.type === "text") last.text += delta;
      else blocks.push({ type: "text", text: delta });
    } else if (event.kind === "thinking") {
      if (last?.type === "thinking") last.text += event.delta;
      else blocks.push({ type: "thinking", text: event.delta });
    } else if (event.kind === "rate_limit") {
      const earlier = blocks.findIndex((b) => b.type === "rate_limit");
      if (earlier >= 0) blocks.splice(earlier, 1);
      blocks.push({ type: "rate_limit", limit: event.limit });
    } else {
      const next = appendBlock(blocks, event, reply);
      if (next !== blocks) blocks.push(next[next.length - 1]!);
    }
  }
  return blocks;
}

const utf8 = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/**
 * Keeps a message's stored blocks under `maxBytes` (its D1 row also holds the reply, and a row
 * is at most 2 MB). Step by step, stopping as soon as it fits: large tool inputs become a note,
 * long thinking and text blocks are shortened (the reply itself is the message's `content`),
 * and as a last resort only the latest blocks are kept, after a note saying so.
 */
export function boundBlocks(blocks: Block[], maxBytes = 512 * 1024): Block[] {
  if (utf8(blocks) <= maxBytes) return blocks;
  const steps: ((b: Block) => Block)[] = [
    (b) => {
      if (b.type !== "tool_use") return b;
      const size = utf8(b.input);
      return size > 4096 ? { ...b, input: { truncated: true, originalBytes: size } } : b;
    },
    (b) =>
      (b.type === "thinking" || b.type === "text") && b.text.length > 2000
        ? { ...b, text: `${b.text.slice(0, 2000)}\n… [shortened]` }
        : b,
  ];
  let bounded = blocks;
  for (const step of steps) {
    bounded = bounded.map(step);
    if (utf8(bounded) <= maxBytes) return bounded;
  }
  const kept: Block[] = [];
  let size = 200;
  for (let i = bounded.length - 1; i >= 0; i--) {
    const block = bounded[i]!;
    size += utf8(block) + 1;
    if (size > maxBytes) break;
    kept.unshift(block);
  }
  const omitted = bounded.length - kept.length;
  return [{ type: "text", text: `[${omitted} earlier steps were too long to keep]` }, ...kept];
}

// --- requests for the user's input ---------------------------------------------------------------

/** One question of Claude Code's AskUserQuestion tool. */
export const Question = z.object({
  question: z.string().min(1).max(2000),
  header: z.string().max(200).default(""),
  options: z
    .array(z.object({ label: z.string().min(1).max(500), description: z.string().max(2000) }))
    .max(10),
  multiSelect: z.boolean().default(false),
});
export type Question = z.infer<typeof Question>;

/** What the executor asks (fields shared by the frame and the API). */
export const InputRequestFields = {
  requestId: z.string().uuid(),
  kind: InputKind,
  tool: z.string().min(1).max(200),
  /** The tool call's input (for edits: file_path, old_string/new_string or content). */
  input: z.unknown(),
  /** For `question`: what to ask. */
  questions: z.array(Question).max(10).optional(),
  /** Claude Code's own sentence for the request, when it gives one. */
  title: z.string().max(1000).optional(),
  /** For `plan`: the plan the agent asks the owner to approve (markdown). */
  plan: z
    .string()
    .max(256 * 1024)
    .optional(),
};

/** An open request, as `GET /api/tasks/:id` lists it. */
export const PendingInput = z.object({
  ...InputRequestFields,
  messageId: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type PendingInput = z.infer<typeof PendingInput>;

export const MAX_ANSWER_MESSAGE = 2000;

/** A string of at most `max` UTF-8 bytes (what is stored and sent, not what is counted by JS). */
const bytes = (max: number) =>
  z.string().refine((s) => new TextEncoder().encode(s).length <= max, {
    message: `at most ${max} bytes (UTF-8)`,
  });

/** `POST /api/tasks/:id/input/:requestId`: a decision on a permission, or answers. */
export const InputAnswer = z.union([
  z.strictObject({
    behavior: z.enum(["allow", "deny"]),
    message: bytes(MAX_ANSWER_MESSAGE).optional(),
    remember: z.literal("task").optional(),
  }),
  z.strictObject({
    answers: z
      .record(bytes(2000), bytes(MAX_ANSWER_MESSAGE).pipe(z.string().trim().min(1)))
      .refine((a) => Object.keys(a).length > 0 && Object.keys(a).length <= 10, {
        message: "give one answer per question (1 to 10)",
      }),
  }),
]);
export type InputAnswer = z.infer<typeof InputAnswer>;

// --- presets and settings --------------------------------------------------------------------------

export const MAX_PRESETS = 50;

export const Preset = z.object({
  id: z.string(),
  title: z.string(),
  text: z.string(),
  deviceId: z.string().nullable(),
  project: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Preset = z.infer<typeof Preset>;

export const CreatePreset = z.strictObject({
  title: DisplayName(100),
  text: z.string().trim().min(1).pipe(bytes(20_000)),
  deviceId: z.string().min(1).max(128).nullable().optional(),
  project: z.string().trim().min(1).pipe(bytes(500)).nullable().optional(),
});
export type CreatePreset = z.infer<typeof CreatePreset>;
export const UpdatePreset = CreatePreset.partial();
export type UpdatePreset = z.infer<typeof UpdatePreset>;

export const PresetsBody = z.object({ presets: z.array(Preset) });
export type PresetsBody = z.infer<typeof PresetsBody>;
export const PresetBody = z.object({ preset: Preset });
export type PresetBody = z.infer<typeof PresetBody>;

export const Settings = z.object({
  defaultPermissionMode: PermissionMode,
  /** The runtime a new task runs on when it names none. */
  defaultRuntime: RuntimeId.default("claude-code"),
});
export type Settings = z.infer<typeof Settings>;
export const UpdateSettings = z.strictObject({
  defaultPermissionMode: PermissionMode,
  /** Absent: unchanged. */
  defaultRuntime: RuntimeId.optional(),
});
export const SettingsBody = z.object({ settings: Settings });
export type SettingsBody = z.infer<typeof SettingsBody>;

/** The answer to `POST /api/tasks/:id/input/:requestId`. */
export const InputAnswered = z.object({ ok: z.literal(true), outcome: InputOutcome });
export type InputAnswered = z.infer<typeof InputAnswered>;
