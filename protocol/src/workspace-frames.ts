import { z } from "zod";
import { Id, LocalSessionId } from "./common";

// Workspace archives (issue #13): the params and the outcome of the `workspace.*` methods of
// the device RPC (DEVICE_METHODS in local-work.ts; the hub asks with `device:request`, the
// executor answers once with `device:response`). Every request carries a short-lived upload/
// download grant the Worker minted for this device; the Worker checks on every archive call
// that the device still holds the task.

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a hex SHA-256");
const Grant = z.string().min(1).max(1000);

/** Pack the task's workspace (+ its Claude session files) and upload it through the Worker. */
export const WorkspaceArchiveParams = z.object({
  taskId: Id,
  grant: Grant,
  /** Compressed size cap; larger fails with `archive_too_large`, never truncated. */
  maxBytes: z.number().int().positive(),
  /**
   * The task's Claude session ids (from its replies). A task that ran in a project directory
   * itself shares that directory's session folder with the owner's other sessions: only these
   * go into its archive.
   */
  sessionIds: z.array(LocalSessionId).max(100).optional(),
});
export type WorkspaceArchiveParams = z.infer<typeof WorkspaceArchiveParams>;

/** Download the task's last archive, verify its checksum, and unpack it as the workspace. */
export const WorkspaceRestoreParams = z.object({
  taskId: Id,
  grant: Grant,
  sha256: Sha256,
  size: z.number().int().nonnegative(),
});
export type WorkspaceRestoreParams = z.infer<typeof WorkspaceRestoreParams>;

/**
 * Lay the task's workspace out again from the snapshot a cleanup kept on this device (its git
 * worktree on its branch with the uncommitted and untracked files, or its scratch folder, and
 * its Claude session). Nothing is downloaded.
 */
export const WorkspaceRestoreSnapshotParams = z.object({
  taskId: Id,
  grant: Grant,
});
export type WorkspaceRestoreSnapshotParams = z.infer<typeof WorkspaceRestoreSnapshotParams>;

/** List (dry run) or remove workspaces idle longer than `olderThanHours`, archiving each first. */
export const WorkspaceCleanupParams = z.object({
  grant: Grant,
  olderThanHours: z
    .number()
    .min(0)
    .max(24 * 365),
  dryRun: z.boolean(),
  maxBytes: z.number().int().positive(),
  /**
   * Where a workspace is kept before it is removed: `cloud` = a verified archive in R2 (cloud
   * executors, or a local device whose owner turned on cloud backup); `device` = a snapshot on
   * the device itself, nothing uploaded (a local device's default). Absent (an older Worker):
   * `device` in local mode, `cloud` in cloud mode.
   */
  keep: z.enum(["cloud", "device"]).optional(),
});
export type WorkspaceCleanupParams = z.infer<typeof WorkspaceCleanupParams>;

/**
 * Remove what this device keeps of a deleted task: its git worktree (never its branch, which may
 * hold committed work) or scratch folder, the snapshot a cleanup kept (pack, record, hidden
 * ref), its own folder and session folder. No grant: nothing goes to or comes from the Worker.
 * A task that ran in a project directory itself leaves the project untouched.
 */
export const WorkspaceForgetParams = z.object({ taskId: Id });
export type WorkspaceForgetParams = z.infer<typeof WorkspaceForgetParams>;

/** What `workspace.forget` removed (each true when it was there and is gone). */
export const ForgetReport = z.object({
  worktree: z.boolean(),
  folder: z.boolean(),
  snapshot: z.boolean(),
  ref: z.boolean(),
  session: z.boolean(),
});
export type ForgetReport = z.infer<typeof ForgetReport>;

export const ArchiveInfo = z.object({
  size: z.number().int().nonnegative(),
  sha256: Sha256,
  files: z.number().int().nonnegative(),
  createdAt: z.string().max(40),
});
export type ArchiveInfo = z.infer<typeof ArchiveInfo>;

export const CleanupEntry = z.object({
  taskId: Id,
  bytes: z.number().int().nonnegative(),
  idleHours: z.number().nonnegative(),
  /** removed | would_remove (dry run) | kept (with why) */
  outcome: z.enum(["removed", "would_remove", "kept"]),
  reason: z.string().max(1000).nullable(),
  /** Removed after a snapshot kept on the device (nothing uploaded), not an archive. */
  snapshot: z.boolean().optional(),
});
export type CleanupEntry = z.infer<typeof CleanupEntry>;

export const CleanupReport = z.object({
  /** Bytes used by all task workspaces on the device (before this cleanup). */
  totalBytes: z.number().int().nonnegative(),
  workspaces: z.number().int().nonnegative(),
  entries: z.array(CleanupEntry).max(10_000),
});
export type CleanupReport = z.infer<typeof CleanupReport>;

/** What a `workspace.*` method answers (a failure the device explains is an `error` outcome). */
export const WorkspaceOutcome = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("archived"), archive: ArchiveInfo }),
  z.object({
    kind: z.literal("restored"),
    files: z.number().int().nonnegative(),
    /**
     * worktree: the task's git worktree was recreated on its branch (same device);
     * folder: the files were laid out as a scratch workspace (another device, or no project).
     */
    place: z.enum(["worktree", "folder"]).optional(),
  }),
  z.object({ kind: z.literal("cleanup"), report: CleanupReport }),
  z.object({ kind: z.literal("forgotten"), removed: ForgetReport }),
  z.object({
    kind: z.literal("error"),
    code: z.enum([
      "workspace_missing",
      "archive_too_large",
      "archive_corrupt",
      "upload_failed",
      "download_failed",
      "quota_exceeded",
      "task_running",
      "snapshot_missing",
      "internal_error",
    ]),
    message: z.string().max(2000),
  }),
]);
export type WorkspaceOutcome = z.infer<typeof WorkspaceOutcome>;
export type WorkspaceErrorCode = Extract<WorkspaceOutcome, { kind: "error" }>["code"];

// --- HTTP shapes --------------------------------------------------------------------------------

/** `GET /api/tasks/:id/workspace`. */
export const WorkspaceState = z.object({
  /**
   * on_device: the working folder is on the device; snapshot: a cleanup removed it and kept its
   * state on the device (nothing uploaded; a follow-up there restores it); archived: the copy
   * is the archive in R2; none.
   */
  state: z.enum(["on_device", "snapshot", "archived", "none"]),
  deviceId: z.string().nullable(),
  archive: ArchiveInfo.nullable(),
  /** A cleanup could not archive the workspace, so it was kept on the device: why. */
  archiveError: z.string().nullable().default(null),
  /** When a cleanup kept the workspace as a snapshot on the device (state `snapshot`). */
  snapshotAt: z.string().nullable().default(null),
});
export type WorkspaceState = z.infer<typeof WorkspaceState>;

/** `POST /api/devices/:id/cleanup`. */
export const CleanupRequest = z.object({
  olderThanHours: z
    .number()
    .min(0)
    .max(24 * 365),
  dryRun: z.boolean().default(true),
});
export type CleanupRequest = z.infer<typeof CleanupRequest>;

/** `POST /api/devices/archives/:taskId/uploads/:uploadId/complete` (executor → Worker). */
export const CompleteUpload = z.object({
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().max(200) }))
    .min(1)
    .max(10_000),
  sha256: Sha256,
  size: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
});
export type CompleteUpload = z.infer<typeof CompleteUpload>;
