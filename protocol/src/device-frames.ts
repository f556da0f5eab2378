import { z } from "zod";
import {
  DeviceId,
  DeviceType,
  DisplayName,
  FailureCode,
  Id,
  MAX_BATCH_EVENTS,
  MAX_SLOTS,
  ProgressEvent,
  SequencedEvent,
  Usage,
} from "./common";
import { Traceparent } from "./trace";
import { OwnerCommands } from "./commands";
import { DeviceRequest, DeviceResponse, ProjectId, Projects } from "./local-work";
import { InputRequestFields, MAX_ANSWER_MESSAGE, PermissionMode } from "./conversation";
import { AppliedCapabilities, DeviceCapabilitiesFrame } from "./capabilities";
import { DeviceRuntimes, RuntimeId } from "./runtimes";

// ---------------------------------------------------------------------------------------------
// Executor → hub
// ---------------------------------------------------------------------------------------------

/** A cloud pool's sandbox, as its executor made it (shown on the device page). */
export const DeviceSandbox = z.object({
  /** "none": each task in its own network namespace, only its own loopback. */
  network: z.enum(["none"]),
  /** Limits in force, e.g. "processes 1024 per task uid (RLIMIT_NPROC)". */
  limits: z.array(z.string().max(200)).max(10),
  /** What could not be applied here, and why. */
  notApplied: z.array(z.string().max(300)).max(10),
});
export type DeviceSandbox = z.infer<typeof DeviceSandbox>;

export const DeviceRegister = z.object({
  type: z.literal("device:register"),
  deviceId: DeviceId,
  name: DisplayName(200),
  platform: z.string().min(1).max(100),
  executorVersion: z.string().min(1).max(50),
  maxSlots: z.number().int().min(1).max(MAX_SLOTS),
  deviceType: DeviceType,
  runtimes: z.array(z.string().max(50)).max(20),
  /** Tasks the executor is still running (after a reconnect). */
  runningTaskIds: z.array(Id).max(50),
  /** Directories the owner lets tasks work in (local mode only). */
  projects: Projects.default([]),
  /** The owner's own command keys (device-config.json `commands`). */
  commands: OwnerCommands.default([]),
  /** Managed capabilities applied on this device (kept on disk across restarts). */
  capabilities: AppliedCapabilities.optional(),
  /** Cloud mode: the sandbox each task runs in. */
  sandbox: DeviceSandbox.optional(),
  /** What the device found of each runtime (version, sign-in, models, commands, problem). */
  runtimeInfo: DeviceRuntimes.optional(),
});
export type DeviceRegister = z.infer<typeof DeviceRegister>;

export const DeviceHeartbeat = z.object({
  type: z.literal("device:heartbeat"),
  runningTaskIds: z.array(Id).max(50),
  /** The projects again (branch and dirty change); absent = unchanged. */
  projects: Projects.optional(),
  /** Managed capabilities applied on this device; also sent at once after each apply. */
  capabilities: AppliedCapabilities.optional(),
  /** The runtimes again, when what the device found changed; absent = unchanged. */
  runtimeInfo: DeviceRuntimes.optional(),
});
export type DeviceHeartbeat = z.infer<typeof DeviceHeartbeat>;

/** Graceful stop: the executor takes no more work; running tasks will end on their own. */
export const DeviceGoodbye = z.object({
  type: z.literal("device:goodbye"),
  reason: z.string().max(500),
});
export type DeviceGoodbye = z.infer<typeof DeviceGoodbye>;

export const TaskAccepted = z.object({
  type: z.literal("task:accepted"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
});
export type TaskAccepted = z.infer<typeof TaskAccepted>;

/**
 * Task output frames carry a per-message sequence number starting at 1. The hub acknowledges
 * the highest contiguous sequence it has stored; the executor keeps every unacknowledged frame
 * and re-sends it after a reconnect. The terminal frame (complete / failed) takes the next
 * sequence number, so it is covered by the same guarantee.
 */
export const TaskProgress = z.object({
  type: z.literal("task:progress"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
  seq: z.number().int().positive(),
  event: ProgressEvent,
});
export type TaskProgress = z.infer<typeof TaskProgress>;

/**
 * Several output events of one message in one frame, with consecutive sequence numbers (each
 * event keeps its own `seq`, so acks, resume and no-loss work exactly as for `task:progress`).
 * The executor sends the first event of a burst at once as a `task:progress`; while that is
 * unacknowledged it gathers the next ones into one batch. The hub stores a batch in one
 * transaction and acknowledges it once (the highest contiguous seq stored).
 */
export const TaskProgressBatch = z.object({
  type: z.literal("task:progress-batch"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
  events: z
    .array(SequencedEvent)
    .min(1)
    .max(MAX_BATCH_EVENTS)
    .refine((events) => events.every((e, i) => i === 0 || e.seq === events[i - 1]!.seq + 1), {
      message: "events must have consecutive seq numbers",
    }),
});
export type TaskProgressBatch = z.infer<typeof TaskProgressBatch>;

export const TaskComplete = z.object({
  type: z.literal("task:complete"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
  seq: z.number().int().positive(),
  text: z.string(),
  sessionId: z.string().max(200).nullable(),
  usage: Usage.nullable(),
  costUsd: z.number().nonnegative().nullable(),
});
export type TaskComplete = z.infer<typeof TaskComplete>;

export const TaskFailed = z.object({
  type: z.literal("task:failed"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
  seq: z.number().int().positive(),
  code: FailureCode,
  message: z.string().max(4000),
  /** Text produced before the failure, kept for the user. */
  text: z.string().default(""),
  sessionId: z.string().max(200).nullable().default(null),
});
export type TaskFailed = z.infer<typeof TaskFailed>;

/**
 * The agent asks the user (a tool call needing permission, or a question) and waits. The
 * executor re-sends every request still open after each registration; the hub keeps one per
 * requestId and answers with `task:input-answer` (again after a reconnect, if need be).
 */
export const TaskInputRequest = z.object({
  type: z.literal("task:input-request"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
  ...InputRequestFields,
});
export type TaskInputRequest = z.infer<typeof TaskInputRequest>;

export const ExecutorFrame = z.discriminatedUnion("type", [
  DeviceRegister,
  DeviceHeartbeat,
  DeviceGoodbye,
  TaskAccepted,
  TaskProgress,
  TaskProgressBatch,
  TaskComplete,
  TaskFailed,
  DeviceResponse,
  TaskInputRequest,
]);
export type ExecutorFrame = z.infer<typeof ExecutorFrame>;

// ---------------------------------------------------------------------------------------------
// Hub → executor
// ---------------------------------------------------------------------------------------------

export const DeviceRegistered = z.object({
  type: z.literal("device:registered"),
  deviceId: DeviceId,
  name: z.string(),
  pingIntervalMs: z.number().int().positive(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** For each message the hub knows is running here: the last sequence it stored. */
  resume: z.array(z.object({ taskId: Id, messageId: Id, lastSeq: z.number().int().nonnegative() })),
  /** Token expiry (ISO), so the executor can warn before it stops working. */
  tokenExpiresAt: z.string().nullable(),
});
export type DeviceRegistered = z.infer<typeof DeviceRegistered>;

export const TaskExecute = z.object({
  type: z.literal("task:execute"),
  /** W3C trace context of the sender's span (optional; docs/observability.md). */
  traceparent: Traceparent.optional(),
  taskId: Id,
  messageId: Id,
  prompt: z.string(),
  /** Claude session to resume for a follow-up message of the same task. */
  resumeSessionId: z.string().max(200).nullable(),
  /** Which agent runs it; a task keeps its runtime for every message. */
  runtime: RuntimeId.default("claude-code"),
  /** 1 for the first send, 2 for the single re-send after an unanswered dispatch. */
  attempt: z.number().int().min(1).max(2),
  /**
   * One of the projects this device advertised, or null for a scratch workspace. Only the id
   * travels: the executor maps it to a path itself and refuses ids it did not advertise.
   */
  projectId: ProjectId.nullable().default(null),
  /** How the agent may use tools (`default`: ask through task:input-request). */
  permissionMode: PermissionMode.default("bypassPermissions"),
  /** The model the owner picked for this message (checked against the device's list). */
  model: z.string().max(100).nullable().optional(),
});
export type TaskExecute = z.infer<typeof TaskExecute>;

export const TaskAck = z.object({
  type: z.literal("task:ack"),
  taskId: Id,
  messageId: Id,
  seq: z.number().int().nonnegative(),
});
export type TaskAck = z.infer<typeof TaskAck>;

export const TaskCancel = z.object({
  type: z.literal("task:cancel"),
  taskId: Id,
  messageId: Id.nullable(),
  reason: z.string().max(500),
});
export type TaskCancel = z.infer<typeof TaskCancel>;

/** The user's answer to a request (or the hub's deny when it expired or was refused). */
export const TaskInputAnswer = z.object({
  type: z.literal("task:input-answer"),
  taskId: Id,
  messageId: Id,
  requestId: z.string().uuid(),
  behavior: z.enum(["allow", "deny"]),
  /** For a deny: what the agent is told. */
  message: z
    .string()
    .max(MAX_ANSWER_MESSAGE + 500)
    .optional(),
  /** Allow every later call of this tool in this task without asking. */
  remember: z.literal("task").optional(),
  /** For a question: the chosen label (or free text) per question. */
  answers: z.record(z.string(), z.string()).optional(),
});
export type TaskInputAnswer = z.infer<typeof TaskInputAnswer>;

export const ErrorFrame = z.object({
  type: z.literal("error"),
  code: z.string().max(100),
  message: z.string().max(2000),
});
export type ErrorFrame = z.infer<typeof ErrorFrame>;

export const HubFrame = z.discriminatedUnion("type", [
  DeviceRegistered,
  TaskExecute,
  TaskAck,
  TaskCancel,
  DeviceRequest,
  TaskInputAnswer,
  DeviceCapabilitiesFrame,
  ErrorFrame,
]);
export type HubFrame = z.infer<typeof HubFrame>;
