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

/** A name a person reads (device, token, task title): trimmed, no control characters. */
export const DisplayName = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");

/** Largest frame either side accepts; larger frames are refused with an error frame. */
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
});
export type Usage = z.infer<typeof Usage>;

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
]);
export type FailureCode = z.infer<typeof FailureCode>;
