import { z } from "zod";

/** Executor-chosen device id: a hash of the hardware id, so opaque but bounded. */
export const DeviceId = z
  .string()
  .min(8)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, "device id may contain letters, digits, '-' and '_' only");

/** Server-chosen ids (tasks, messages, tokens): UUIDs. */
export const Id = z.string().uuid();

export const MAX_SLOTS = 5;

/**
 * A name a person reads (device, token, task title): trimmed; no control characters, no format
 * characters (`\p{Cf}`: bidi overrides, zero-width joiners…) and no lone surrogates, which
 * would let a name hide or reorder what the owner reads.
 */
export const DisplayName = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters")
    .regex(/^[^\p{Cf}]*$/u, "must not contain invisible or bidi format characters")
    .regex(/^[^\p{Cs}]*$/u, "must not contain lone surrogates");

/** UTF-8 length of a string without encoding it (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Largest frame either side accepts, in UTF-8 bytes; larger frames are refused. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Liveness probe answered by the runtime itself (setWebSocketAutoResponse), so the hub is not
 * woken for it. Plain strings, not JSON: the runtime matches them byte for byte.
 */
export const PING = "ping";
export const PONG = "pong";

export const DeviceType = z.enum(["local", "cloud"]);
export type DeviceType = z.infer<typeof DeviceType>;

/** What the user sees for a device. */
export const DeviceStatus = z.enum(["online", "busy", "reconnecting", "offline"]);
export type DeviceStatus = z.infer<typeof DeviceStatus>;

export const Usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative().default(0),
  cacheWriteTokens: z.number().int().nonnegative().default(0),
  /** Tokens of the last model call's prompt: how full the context is after this message. */
  contextTokens: z.number().int().nonnegative().optional(),
  /** The model's context window, when Claude Code reported it. */
  contextWindow: z.number().int().positive().optional(),
});
export type Usage = z.infer<typeof Usage>;

/** A subscription's rate limit as Claude Code reported it (SDK `rate_limit_event`). */
export const RateLimit = z.object({
  status: z.enum(["allowed", "allowed_warning", "rejected"]),
  /** Which limit: "five_hour", "seven_day", … (Claude Code's words), or null. */
  limitType: z.string().max(100).nullable(),
  /** When it resets (ISO), or null. */
  resetsAt: z.string().max(100).nullable(),
  /** How much of it is used, 0..1, or null. */
  utilization: z.number().min(0).max(100).nullable(),
});
export type RateLimit = z.infer<typeof RateLimit>;

/** One piece of streamed agent output. */
export const ProgressEvent = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("text"),
    /** Characters of the reply before this delta. */
    offset: z.number().int().nonnegative(),
    delta: z.string(),
  }),
  z.object({ kind: z.literal("thinking"), delta: z.string() }),
  z.object({
    kind: z.literal("tool_use"),
    toolUseId: z.string().max(200),
    name: z.string().max(200),
    input: z.unknown(),
  }),
  z.object({
    kind: z.literal("tool_result"),
    toolUseId: z.string().max(200),
    /** Bounded summary of the tool's output (the executor truncates it). */
    summary: z.string().max(16 * 1024),
    isError: z.boolean(),
    /** How long the tool ran, from its call to its result (measured by the executor). */
    durationMs: z.number().int().nonnegative().max(86_400_000).optional(),
  }),
  /** Claude Code's subscription limit state (5-hour, weekly…) changed; see RateLimit. */
  z.object({ kind: z.literal("rate_limit"), limit: z.lazy(() => RateLimit) }),
  /**
   * A message the owner sent while the reply ran (`POST /api/tasks/:id/messages` → 202 queued)
   * was taken into the running session here: the reply goes on and covers it.
   */
  z.object({
    kind: z.literal("user_message"),
    userMessageId: z.string().max(200),
    text: z.string().max(256 * 1024),
  }),
]);
export type ProgressEvent = z.infer<typeof ProgressEvent>;

/** Most events one batched frame (`task:progress-batch`, `message:deltas`) may carry. */
export const MAX_BATCH_EVENTS = 500;

/** One sequenced output event inside a batch. */
export const SequencedEvent = z.object({
  seq: z.number().int().positive(),
  event: ProgressEvent,
});
export type SequencedEvent = z.infer<typeof SequencedEvent>;

/** Why a task or message ended without success. Stable, machine-readable. */
export const FailureCode = z.enum([
  "device_disconnected",
  "device_offline",
  "device_removed",
  "lost_on_device",
  "queue_timeout",
  "dispatch_timeout",
  "cancelled",
  "executor_stopped",
  "runtime_missing",
  "credentials_missing",
  /** The project is not (or no longer) one this device offers, or it leads outside itself. */
  "project_unavailable",
  "agent_error",
  "internal_error",
  /** The device's pre-execute hook exited non-zero or ran past its timeout. */
  "hook_failed",
  "workspace_restore_failed",
  /** The model refused the device's credentials (401/403): sign in again or fix the key. */
  "credentials_invalid",
  /** The run produced no output for the owner's stallSeconds while not waiting for them. */
  "agent_stalled",
  /** The run went past the owner's maxRunMinutes. */
  "run_time_exceeded",
]);
export type FailureCode = z.infer<typeof FailureCode>;

/** A Claude Code session id (a UUID in practice); never used as a path by anyone but its device. */
export const LocalSessionId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9-]+$/, "session id may contain letters, digits and '-' only");
