import { z } from "zod";
import { DeviceCapabilities } from "./capabilities";
import { DeviceSandbox } from "./device-frames";
import { DeviceRuntimes, RuntimeId } from "./runtimes";
import { DeviceStatus, DeviceType, DisplayName, FailureCode, Usage } from "./common";
import { OwnerCommands } from "./commands";
import { LocalSessionId } from "./common";
import { Project, ProjectId } from "./local-work";
import { Block, PermissionMode } from "./conversation";
import { MessageStages } from "./stages";

/** Every HTTP error body. */
export const ApiError = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ApiError = z.infer<typeof ApiError>;

export const Username = z
  .string()
  .trim()
  .min(3)
  .max(40)
  .regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, '.', '-' and '_' only");
export const Password = z.string().min(8, "at least 8 characters").max(200);

export const Credentials = z.object({ username: Username, password: Password });
export type Credentials = z.infer<typeof Credentials>;

export const User = z.object({
  id: z.string(),
  username: z.string(),
  isAdmin: z.boolean(),
  createdAt: z.string(),
});
export type User = z.infer<typeof User>;

/**
 * `device`: connect-only, bound to the first device it connects (what the "Add a device" panel
 * and `npm start` make); `user`: account API token for scripts; `cloud`: operator token for a
 * cloud-pool executor (admins only), bound like a device token.
 */
export const TokenScope = z.enum(["device", "user", "cloud"]);
export type TokenScope = z.infer<typeof TokenScope>;

const TokenDays = z.number().int().min(1).max(90);

export const CreateToken = z
  .object({
    name: DisplayName(100),
    /** Lifetime in days; `expiresInDays` is the same field under its contract name. */
    days: TokenDays.optional(),
    expiresInDays: TokenDays.optional(),
    scope: TokenScope.default("user"),
  })
  .transform(({ name, days, expiresInDays, scope }) => ({
    name,
    scope,
    days: expiresInDays ?? days ?? 7,
  }));
export type CreateToken = z.input<typeof CreateToken>;

export const ApiToken = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScope,
  createdAt: z.string(),
  expiresAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** For device and cloud tokens: the device id it is bound to, once used. */
  boundDeviceId: z.string().nullable().optional(),
});
export type ApiToken = z.infer<typeof ApiToken>;

/** Returned once, at creation: the only time the secret is shown. */
export const CreatedToken = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScope,
  token: z.string(),
  expiresAt: z.string(),
});
export type CreatedToken = z.infer<typeof CreatedToken>;

/**
 * `credential_reuse`: a rotated-out device credential was presented again; `token_reuse`: the
 * device token that started this device's credentials was presented again after its one
 * exchange. Either way two parties held the secret: the device's credentials (for a token: the
 * ones it started) are revoked.
 */
export const SecurityEvent = z.object({
  kind: z.enum(["credential_reuse", "token_reuse"]),
  at: z.string(),
});
export type SecurityEvent = z.infer<typeof SecurityEvent>;

export const Device = z.object({
  id: z.string(),
  name: z.string(),
  type: DeviceType,
  platform: z.string(),
  version: z.string(),
  status: DeviceStatus,
  slotsUsed: z.number().int(),
  maxSlots: z.number().int(),
  queueLength: z.number().int(),
  isDefault: z.boolean(),
  lastSeenAt: z.string().nullable(),
  /** Expiry of the token the device connected with, for the "expires soon" warning. */
  tokenExpiresAt: z.string().nullable(),
  /** Directories the device offers for tasks (its owner only sees this listing). */
  projects: z.array(Project),
  /** The owner's own command keys the executor offers (besides the built-in ones). */
  commands: OwnerCommands,
  /** Something the owner must see, e.g. a rotated-out device credential used again. */
  securityEvent: SecurityEvent.nullable().optional(),
  /** Managed skills / MCP servers / runtime settings on this device. */
  capabilities: DeviceCapabilities,
  /** The owner's limit on parallel tasks (null: what the executor offers). */
  slotLimit: z.number().int().nullable(),
  /**
   * The owner backs this device's task workspaces up to the cloud: the hourly cleanup archives
   * them to R2. Off (the default for a local device): they are kept on the device as snapshots
   * and nothing but the conversation leaves it. Always true for the cloud pool.
   */
  cloudBackup: z.boolean(),
  /** Cloud pool: the sandbox its executor reported (no network, limits, what is missing). */
  sandbox: DeviceSandbox.nullable().optional(),
  /** What the device found of each runtime (`[]` until it reports). */
  runtimes: DeviceRuntimes.default([]),
  /** What this device's messages cost since 00:00 UTC today, in USD (null: not known here). */
  costTodayUsd: z.number().nonnegative().nullable().default(null),
});
export type Device = z.infer<typeof Device>;

export const RenameDevice = z.object({ name: DisplayName(200) });

/** `PATCH /api/devices/:id`: rename, and/or turn cloud backup of its workspaces on or off. */
export const UpdateDevice = z
  .object({ name: DisplayName(200).optional(), cloudBackup: z.boolean().optional() })
  .strict()
  .refine((body) => body.name !== undefined || body.cloudBackup !== undefined, {
    message: "send name and/or cloudBackup",
  });
export type UpdateDevice = z.infer<typeof UpdateDevice>;

export const TaskStatus = z.enum([
  "pending",
  "queued",
  "running",
  /** Running, and the agent waits for the user to answer a request (its slot stays held). */
  "waiting_input",
  "cancelling",
  "completed",
  "failed",
  "cancelled",
]);
export type TaskStatus = z.infer<typeof TaskStatus>;
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  "completed",
  "failed",
  "cancelled",
]);

export const Target = z.union([
  z.literal("cloud"),
  z.object({
    deviceId: z.string().min(1).max(128),
    /** One of the device's projects; absent = a scratch workspace. */
    projectId: ProjectId.optional(),
  }),
]);
export type Target = z.infer<typeof Target>;

/** A model name or alias as Claude Code takes it. */
export const ModelName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._:[\]@/-]+$/, "not a model name");

export const CreateTask = z.object({
  message: z.string().trim().min(1).max(100_000),
  target: Target.optional(),
  title: DisplayName(200).optional(),
  /** Continue this Claude Code session of the target project (needs target.projectId). */
  continueSessionId: LocalSessionId.optional(),
  /** How the agent may use tools; default: the user's setting. */
  permissionMode: PermissionMode.optional(),
  /** One of the models the device's Claude Code offers (`GET /api/devices` → the claude-code entry of `runtimes`). */
  model: ModelName.optional(),
  /** The agent that runs the task (kept for every follow-up); default: the user's setting. */
  runtime: RuntimeId.optional(),
});
export type CreateTask = z.infer<typeof CreateTask>;

/** Most messages waiting in one task's running reply (the next one: 429 `queue_full`). */
export const MAX_QUEUED_MESSAGES = 10;
/** Largest message that may wait in a running reply (UTF-8 bytes; 413 `message_too_long`). */
export const MAX_QUEUED_MESSAGE_BYTES = 64 * 1024;

export const SendMessage = z.object({
  message: z.string().trim().min(1).max(100_000),
  /** An explicit switch to another device; recorded on the message. */
  target: Target.optional(),
  permissionMode: PermissionMode.optional(),
  /**
   * While a reply runs, the message is queued into it (202, `status: "queued"`); with
   * `interrupt: true` the running turn is stopped (not killed) and this message goes in at
   * once. On a task that is not answering: 400 `nothing_to_interrupt`.
   */
  interrupt: z.boolean().optional(),
  /** One of the models the device's Claude Code offers (`GET /api/devices` → the claude-code entry of `runtimes`). */
  model: ModelName.optional(),
  /** Must be the task's own runtime when given (a task keeps its runtime; else 409). */
  runtime: RuntimeId.optional(),
});
export type SendMessage = z.infer<typeof SendMessage>;

export const Message = z.object({
  id: z.string(),
  taskId: z.string(),
  role: z.enum(["user", "assistant"]),
  content: z.string(),
  status: TaskStatus,
  errorCode: FailureCode.nullable(),
  errorMessage: z.string().nullable(),
  deviceId: z.string().nullable(),
  queuePosition: z.number().int().nullable(),
  /** Why it waits in the queue, when not only for a free slot. */
  queueReason: z.string().nullable().optional(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  usage: Usage.nullable(),
  costUsd: z.number().nullable(),
  createdAt: z.string(),
  /** What the agent did, in order (assistant messages; running ones: what the hub holds). */
  blocks: z.array(Block).default([]),
  /** For a running message: the last output `seq` its content and blocks include. */
  lastSeq: z.number().int().nonnegative().default(0),
  permissionMode: PermissionMode.nullable().default(null),
  /** Where an ended assistant message's time went (docs/observability.md); null: not known. */
  stages: MessageStages.nullable().default(null),
});
export type Message = z.infer<typeof Message>;

export const Task = z.object({
  id: z.string(),
  title: z.string(),
  target: z.enum(["device", "cloud"]),
  deviceId: z.string().nullable(),
  /** The device project the task works in (null: scratch workspace). */
  projectId: z.string().nullable(),
  projectName: z.string().nullable(),
  /** The git branch the task works on (its own `wegent/<id>`, or the session's checkout). */
  branch: z.string().nullable(),
  status: TaskStatus,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The terminal session it continued: its earlier conversation is read from the device. */
  continuedSessionId: LocalSessionId.optional(),
  /** The agent runtime the task runs on. */
  runtime: RuntimeId.default("claude-code"),
});
export type Task = z.infer<typeof Task>;
