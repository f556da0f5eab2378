import { z } from "zod";
import { LocalSessionId } from "./common";
import { CommandRequest, CommandRunAnswer } from "./commands";
import {
  WorkspaceArchiveParams,
  WorkspaceCleanupParams,
  WorkspaceForgetParams,
  WorkspaceOutcome,
  WorkspaceRestoreParams,
  WorkspaceRestoreSnapshotParams,
} from "./workspace-frames";
import { RuntimeId } from "./runtimes";
import { Block } from "./conversation";
import { Traceparent } from "./trace";

// Local work: the projects a device advertises, the Claude Code sessions already on it, and the
// generic device RPC (a request/response frame pair through the DeviceHub) used to read them.

/** Executor-chosen project id: `p_` + a hash of the project's real path. Stable across restarts. */
export const ProjectId = z
  .string()
  .min(3)
  .max(64)
  .regex(/^p_[A-Za-z0-9_-]+$/, "project id looks like p_<letters and digits>");
export type ProjectId = z.infer<typeof ProjectId>;

export const MAX_PROJECTS = 100;

/** One directory the device's owner lets tasks work in. `path` is shown only to the owner. */
export const Project = z.object({
  id: ProjectId,
  name: z.string().min(1).max(200),
  path: z.string().min(1).max(4096),
  /** A git repository: tasks get their own worktree and branch. */
  git: z.boolean(),
  /** Current branch of the user's checkout (null: not git, or a detached HEAD). */
  branch: z.string().max(300).nullable(),
  /** Uncommitted changes in the user's checkout. */
  dirty: z.boolean(),
});
export type Project = z.infer<typeof Project>;

export const Projects = z.array(Project).max(MAX_PROJECTS);

export const LocalSession = z.object({
  id: LocalSessionId,
  projectId: ProjectId,
  title: z.string().max(300),
  updatedAt: z.string(),
  /**
   * The entries its transcript has (user prompts and replies); null when the device could not
   * count them in time (a Codex thread's count needs its turns read): show no count then.
   */
  messageCount: z.number().int().nonnegative().nullable(),
  /** Which agent made it (a Claude Code session or a Codex thread). */
  runtime: RuntimeId.default("claude-code"),
});
export type LocalSession = z.infer<typeof LocalSession>;

/** The steps one transcript entry carries at most (the latest are kept). */
export const MAX_ENTRY_BLOCKS = 500;

export const TranscriptEntry = z.object({
  role: z.enum(["user", "assistant"]),
  text: z.string(),
  at: z.string().nullable(),
  /**
   * A reply's steps in order, the same blocks a task's reply has (text, tool calls and their
   * results): a Codex thread's commands with their output and its file changes with the diff.
   * `text` is then the concatenation of its text blocks. Absent: `text` is all there is.
   */
  blocks: z.array(Block).max(MAX_ENTRY_BLOCKS).optional(),
});
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

export const MAX_LISTED_SESSIONS = 50;
export const MAX_TRANSCRIPT_ENTRIES = 200;
/** Total UTF-8 bytes of transcript text one answer carries. */
export const MAX_TRANSCRIPT_BYTES = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Device RPC: one method table, used by the hub (send + check) and the executor (answer).
// ---------------------------------------------------------------------------------------------

export const DEVICE_METHODS = {
  /** Runs one command (built-in or the owner's) and answers its result; see commands.ts. */
  "command.run": { params: CommandRequest, result: CommandRunAnswer },
  /** Claude Code sessions on the device, newest first; all projects when projectId is null. */
  "sessions.list": {
    params: z.object({ projectId: ProjectId.nullable() }),
    result: z.object({ sessions: z.array(LocalSession).max(MAX_LISTED_SESSIONS) }),
  },
  /** One session's transcript, read-only and capped. */
  "sessions.get": {
    params: z.object({ sessionId: LocalSessionId }),
    result: z.object({
      session: LocalSession,
      messages: z.array(TranscriptEntry).max(MAX_TRANSCRIPT_ENTRIES),
      /** Older entries were left out to stay within the caps. */
      truncated: z.boolean(),
    }),
  },
  /**
   * A message the owner sent while a reply of the task runs: held by the executor and taken
   * into the running Claude session at its next turn boundary (`interrupt`: stop the turn and
   * take it at once). Not found: that reply no longer runs on the device.
   */
  "task.message": {
    params: z.object({
      taskId: z.string().uuid(),
      messageId: z.string().uuid(),
      userMessageId: z.string().uuid(),
      text: z
        .string()
        .min(1)
        .max(256 * 1024),
      interrupt: z.boolean(),
    }),
    result: z.object({ state: z.enum(["queued", "taken"]) }),
  },
  /** Removes a held message before it is taken. Not found: already taken (or unknown). */
  "task.withdraw": {
    params: z.object({ taskId: z.string().uuid(), userMessageId: z.string().uuid() }),
    result: z.object({ withdrawn: z.literal(true) }),
  },
  /** Pack the task's workspace (+ its Claude session files) and upload it through the Worker. */
  "workspace.archive": { params: WorkspaceArchiveParams, result: WorkspaceOutcome },
  /** Download the task's last archive, verify its checksum, and unpack it as the workspace. */
  "workspace.restore": { params: WorkspaceRestoreParams, result: WorkspaceOutcome },
  /** Lay the task's workspace out again from the snapshot a cleanup kept on this device. */
  "workspace.restore_snapshot": {
    params: WorkspaceRestoreSnapshotParams,
    result: WorkspaceOutcome,
  },
  /** List (dry run) or remove workspaces idle longer than `olderThanHours`, keeping each first. */
  "workspace.cleanup": { params: WorkspaceCleanupParams, result: WorkspaceOutcome },
  /** Remove what this device keeps of a deleted task (its project checkout stays untouched). */
  "workspace.forget": { params: WorkspaceForgetParams, result: WorkspaceOutcome },
} as const;

export type DeviceMethod = keyof typeof DEVICE_METHODS;
export const DeviceMethodName = z.enum(
  Object.keys(DEVICE_METHODS) as [DeviceMethod, ...DeviceMethod[]],
);
export type DeviceParams<M extends DeviceMethod> = z.infer<(typeof DEVICE_METHODS)[M]["params"]>;
export type DeviceResult<M extends DeviceMethod> = z.infer<(typeof DEVICE_METHODS)[M]["result"]>;

/** Why a device request failed; `not_found` becomes HTTP 404. */
export const DeviceRequestErrorCode = z.enum([
  "not_found",
  "invalid_params",
  "unknown_method",
  "internal_error",
]);
export type DeviceRequestErrorCode = z.infer<typeof DeviceRequestErrorCode>;

/** Hub → executor. `params` is checked against the method's schema on both sides. */
export const DeviceRequest = z.object({
  type: z.literal("device:request"),
  requestId: z.string().uuid(),
  method: z.string().min(1).max(100),
  params: z.unknown(),
  /** The hub's span for this request (workspace archive/restore), when tracing is on. */
  traceparent: Traceparent.optional(),
});
export type DeviceRequest = z.infer<typeof DeviceRequest>;

/** Executor → hub: exactly one per request; `ok` with `result`, or not `ok` with `error`. */
export const DeviceResponse = z.object({
  type: z.literal("device:response"),
  requestId: z.string().uuid(),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.object({ code: DeviceRequestErrorCode, message: z.string().max(2000) }).optional(),
});
export type DeviceResponse = z.infer<typeof DeviceResponse>;
