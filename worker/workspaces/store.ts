import { and, eq, sql } from "drizzle-orm";
import { type ArchiveInfo, LocalSessionId, type WorkspaceState } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { nowIso, seconds } from "../../edge/time";
import { abortDangling } from "./pending";

// D1 side of workspace archives: settings, the per-task row, the owner's quota.

const GIB = 1024 * 1024 * 1024;

export function archiveSettings(env: Env) {
  return {
    maxBytes: seconds(env.ARCHIVE_MAX_BYTES, GIB),
    quotaBytes: seconds(env.ARCHIVE_QUOTA_BYTES, 5 * GIB),
    idleHours: seconds(env.WORKSPACE_IDLE_HOURS, 24),
  };
}

export type TaskRow = typeof schema.tasks.$inferSelect;
export type WorkspaceRow = typeof schema.taskWorkspaces.$inferSelect;

export async function workspaceRow(env: Env, taskId: string): Promise<WorkspaceRow | null> {
  const row = await database(env.DB)
    .select()
    .from(schema.taskWorkspaces)
    .where(eq(schema.taskWorkspaces.taskId, taskId))
    .get();
  return row ?? null;
}

export function archiveOf(row: WorkspaceRow | null): ArchiveInfo | null {
  if (!row?.archiveKey || !row.archiveSha256 || row.archiveSize === null || !row.archivedAt) {
    return null;
  }
  return {
    size: row.archiveSize,
    sha256: row.archiveSha256,
    files: row.archiveFiles ?? 0,
    createdAt: row.archivedAt,
  };
}

/**
 * The Claude session ids the task's replies ran in on `device` (newest first, at most 100): a
 * task that ran in a project directory itself archives only these of that folder's sessions.
 */
export async function taskSessionIds(
  env: Env,
  taskId: string,
  device: { ownerId: string; deviceId: string },
): Promise<string[]> {
  const rows = await database(env.DB)
    .selectDistinct({ sessionId: schema.messages.sessionId })
    .from(schema.messages)
    .where(
      and(
        eq(schema.messages.taskId, taskId),
        eq(schema.messages.deviceOwnerId, device.ownerId),
        eq(schema.messages.deviceId, device.deviceId),
      ),
    )
    .limit(100)
    .all();
  return rows
    .map((r) => r.sessionId)
    .filter((id): id is string => typeof id === "string" && LocalSessionId.safeParse(id).success);
}

/**
 * Where a device's cleanup keeps a workspace before removing it: a local device keeps it on the
 * device (a snapshot, nothing uploaded) unless its owner turned on cloud backup; the cloud pool
 * archives to R2.
 */
export function keepFor(device: { type: string; cloudBackup: boolean }): "cloud" | "device" {
  return device.type === "local" && !device.cloudBackup ? "device" : "cloud";
}

/** `GET /api/tasks/:id/workspace`. */
export function workspaceView(task: TaskRow, row: WorkspaceRow | null): WorkspaceState {
  const archive = archiveOf(row);
  const onDevice = row ? row.onDevice : task.deviceId !== null;
  const snapshot = !onDevice && row?.snapshotAt && task.deviceId ? row.snapshotAt : null;
  return {
    state:
      onDevice && task.deviceId
        ? "on_device"
        : snapshot
          ? "snapshot"
          : archive
            ? "archived"
            : "none",
    // A cloud task's pool device is not the user's to know (as in the task itself).
    deviceId: task.target === "device" ? task.deviceId : null,
    archive,
    archiveError: row?.archiveError ?? null,
    snapshotAt: snapshot,
  };
}

/** Bytes the owner keeps in archives, leaving out one task's (its archive is being replaced). */
export async function usedBytes(env: Env, ownerId: string, exceptTaskId?: string) {
  const row = await database(env.DB)
    .select({ total: sql<number>`coalesce(sum(${schema.taskWorkspaces.archiveSize}), 0)` })
    .from(schema.taskWorkspaces)
    .where(
      exceptTaskId
        ? and(
            eq(schema.taskWorkspaces.ownerId, ownerId),
            sql`${schema.taskWorkspaces.taskId} <> ${exceptTaskId}`,
          )
        : eq(schema.taskWorkspaces.ownerId, ownerId),
    )
    .get();
  return Number(row?.total ?? 0);
}

/** Writes (or replaces) the row of a task. */
export async function saveWorkspace(
  env: Env,
  task: Pick<TaskRow, "id" | "ownerId">,
  patch: Partial<typeof schema.taskWorkspaces.$inferInsert>,
) {
  const now = nowIso();
  await database(env.DB)
    .insert(schema.taskWorkspaces)
    .values({ taskId: task.id, ownerId: task.ownerId, updatedAt: now, ...patch })
    .onConflictDoUpdate({
      target: schema.taskWorkspaces.taskId,
      set: { ...patch, updatedAt: now },
    })
    .run();
}

/** A deleted task takes its archive with it (the D1 row goes by cascade). */
export async function deleteArchive(env: Env, taskId: string): Promise<void> {
  const row = await workspaceRow(env, taskId);
  if (row?.archiveKey) await env.ARCHIVES.delete(row.archiveKey);
  // And an upload a dead archive run left open.
  if (row) await abortDangling(env, row.ownerId, taskId);
}

/**
 * What a cleanup did, on each task: a workspace removed after a snapshot kept on the device is
 * `snapshot` (its follow-up restores it there); one kept because its archive (or snapshot)
 * failed shows why.
 */
export async function recordKept(
  env: Env,
  device: { ownerId: string; deviceId: string },
  entries: readonly {
    taskId: string;
    outcome: string;
    reason: string | null;
    snapshot?: boolean;
  }[],
): Promise<void> {
  const db = database(env.DB);
  for (const entry of entries) {
    if (entry.outcome === "removed" && entry.snapshot === true) {
      const task = await db
        .select()
        .from(schema.tasks)
        .where(eq(schema.tasks.id, entry.taskId))
        .get();
      // Only a task this very device holds (the report comes from its socket, still checked).
      if (!task || task.deviceOwnerId !== device.ownerId || task.deviceId !== device.deviceId) {
        continue;
      }
      await saveWorkspace(env, task, {
        deviceOwnerId: device.ownerId,
        deviceId: device.deviceId,
        onDevice: false,
        snapshotAt: nowIso(),
        archiveError: null,
      });
      continue;
    }
    if (
      entry.outcome !== "kept" ||
      !(entry.reason?.startsWith("Not archived") || entry.reason?.startsWith("Snapshot failed"))
    ) {
      continue;
    }
    const task = await db
      .select()
      .from(schema.tasks)
      .where(eq(schema.tasks.id, entry.taskId))
      .get();
    if (!task || task.deviceOwnerId !== device.ownerId || task.deviceId !== device.deviceId) {
      continue;
    }
    await saveWorkspace(env, task, {
      deviceOwnerId: device.ownerId,
      deviceId: device.deviceId,
      archiveError: entry.reason.slice(0, 2000),
    });
  }
}
