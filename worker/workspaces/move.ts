import { eq } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { log } from "../../edge/log";
import { nowIso } from "../../edge/time";
import { ApiError } from "../lib/errors";
import { askDevice } from "./relay";
import {
  archiveSettings,
  saveWorkspace,
  type TaskRow,
  taskSessionIds,
  workspaceRow,
  type WorkspaceRow,
} from "./store";

/** A move or restore waits at most this long for a device (the user's POST is open meanwhile). */
const DEVICE_WAIT_MS = 5 * 60 * 1000;

// Before a follow-up runs: bring the task's workspace to the device that will run it. On the
// same device, a cleaned-up workspace is restored from its archive. To another device, the old
// device archives first (if it is online; else its last archive is used), then the new device
// restores workspace and Claude session, so the conversation continues there.

export interface Prepared {
  /** Keep the Claude session although the device changes. */
  resume: boolean;
  /** A line for the chat (where the workspace came from), or null. */
  note: string | null;
}

/** Restoring failed: the follow-up is recorded as failed with this reason. */
export class RestoreFailed extends Error {}

export async function prepareWorkspace(
  env: Env,
  task: TaskRow,
  target: { ownerId: string; deviceId: string; project?: { id: string; name: string } | null },
): Promise<Prepared> {
  if (!task.deviceId || !task.deviceOwnerId) return { resume: false, note: null };
  const from = { ownerId: task.deviceOwnerId, deviceId: task.deviceId };
  const same = from.ownerId === target.ownerId && from.deviceId === target.deviceId;
  if (!same && target.project) {
    // The files and the session land in a folder of their own there, not in a project of it.
    throw new ApiError(
      400,
      "invalid_target",
      "A task moves to another device as a folder of its own (its files and Claude session); leave out target.projectId.",
    );
  }
  let row = await workspaceRow(env, task.id);
  if (same) {
    if (row && !row.onDevice && row.snapshotAt) {
      // Kept on this device by a cleanup: laid out again from there, nothing downloaded.
      await restoreSnapshotOn(env, task, target);
      const note = task.projectId
        ? `The task's git worktree was recreated on its branch with its uncommitted files, from the snapshot kept on this device (${row.snapshotAt}).`
        : `The task's workspace was restored from the snapshot kept on this device (${row.snapshotAt}).`;
      return { resume: true, note };
    }
    if (!row || row.onDevice || !row.archiveKey) return { resume: true, note: null };
    const place = await restoreOn(env, task, target, row.archiveSha256!, row.archiveSize!);
    if (place === "worktree") {
      const note = `The task's git worktree was recreated on its branch and its files restored from the archive of ${row.archivedAt}.`;
      return { resume: true, note };
    }
    if (task.projectId) {
      const note = `The project is no longer offered here: the task's files were restored from the archive of ${row.archivedAt} as a plain folder.`;
      return { resume: true, note };
    }
    return { resume: true, note: null };
  }
  let note: string;
  if (row && !row.onDevice && !row.snapshotAt) {
    note = `The workspace was restored from its archive of ${row.archivedAt}.`;
  } else {
    try {
      await askDevice(
        env,
        from,
        {
          method: "workspace.archive",
          taskId: task.id,
          maxBytes: archiveSettings(env).maxBytes,
          sessionIds: await taskSessionIds(env, task.id, from),
        },
        DEVICE_WAIT_MS,
      );
      row = await workspaceRow(env, task.id);
      note = `Workspace moved from ${from.deviceId} to ${target.deviceId} (archived just now).`;
    } catch (error) {
      const code = error instanceof ApiError ? error.code : "internal_error";
      const why = error instanceof Error ? error.message : String(error);
      if (row?.snapshotAt) {
        // Its newest state exists only on that device: never move on from an older copy.
        if (code === "device_offline") {
          throw new ApiError(
            409,
            "workspace_on_device",
            `The task's files are kept only on ${from.deviceId} (a snapshot on that device, never uploaded). Bring ${from.deviceId} online and send again: moving then uploads them through the cloud to ${target.deviceId}. Or continue the task on ${from.deviceId}.`,
          );
        }
        throw new RestoreFailed(`The workspace could not be archived on ${from.deviceId}: ${why}`);
      }
      const reason = code === "device_offline" ? `${from.deviceId} is offline` : why;
      if (!row?.archiveKey) {
        if (code !== "device_offline" && code !== "workspace_missing") {
          // Moving on without the files would silently lose work the old device still has.
          throw new RestoreFailed(
            `The workspace could not be archived on ${from.deviceId}: ${why}`,
          );
        }
        return {
          resume: false,
          note: `${reason} and the task has no archive: the follow-up starts with an empty workspace.`,
        };
      }
      note = `${reason}: the workspace was restored from its archive of ${row.archivedAt}.`;
    }
  }
  const place = await moveTo(env, task, from, target, row!);
  if (task.projectId && place === "folder") {
    note += ` The project task's files are there as a plain folder (a git repository with one commit of them); its branch stays on ${from.deviceId}.`;
  }
  return { resume: true, note };
}

/**
 * The new device holds the task from here on (so it may download the archive), and restores it.
 * If that device turns out to be offline, nothing moved: the task stays where it was and the
 * user gets 409 device_offline (no message is recorded).
 */
async function moveTo(
  env: Env,
  task: TaskRow,
  from: { ownerId: string; deviceId: string },
  target: { ownerId: string; deviceId: string; project?: { id: string; name: string } | null },
  row: WorkspaceRow,
): Promise<"worktree" | "folder"> {
  const holder = (device: { ownerId: string; deviceId: string }, project: typeof target.project) =>
    database(env.DB)
      .update(schema.tasks)
      .set({
        deviceOwnerId: device.ownerId,
        deviceId: device.deviceId,
        // A project id names a project of one device: the task runs where its files were put.
        projectId: project?.id ?? null,
        projectName: project?.name ?? null,
        updatedAt: nowIso(),
      })
      .where(eq(schema.tasks.id, task.id))
      .run();
  await holder(target, target.project);
  await saveWorkspace(env, task, {
    deviceOwnerId: target.ownerId,
    deviceId: target.deviceId,
    onDevice: false,
  });
  try {
    return await restoreOn(env, task, target, row.archiveSha256!, row.archiveSize!);
  } catch (error) {
    if (error instanceof ApiError && error.code === "device_offline") {
      const project = task.projectId ? { id: task.projectId, name: task.projectName ?? "" } : null;
      await holder(from, project);
      await saveWorkspace(env, task, {
        deviceOwnerId: from.ownerId,
        deviceId: from.deviceId,
        onDevice: row.onDevice,
      });
    }
    throw error;
  }
}

/** The device lays the task's workspace out again from the snapshot it kept. */
async function restoreSnapshotOn(
  env: Env,
  task: TaskRow,
  target: { ownerId: string; deviceId: string },
): Promise<void> {
  try {
    await askDevice(
      env,
      target,
      { method: "workspace.restore_snapshot", taskId: task.id },
      DEVICE_WAIT_MS,
    );
  } catch (error) {
    if (error instanceof ApiError && error.code === "device_offline") throw error;
    throw new RestoreFailed(
      error instanceof ApiError
        ? error.message
        : `The workspace could not be restored from its snapshot: ${error}`,
    );
  }
  await saveWorkspace(env, task, {
    deviceOwnerId: target.ownerId,
    deviceId: target.deviceId,
    onDevice: true,
    snapshotAt: null,
  });
  log({ event: "workspace.snapshot_restored", ownerId: task.ownerId, taskId: task.id });
}

async function restoreOn(
  env: Env,
  task: TaskRow,
  target: { ownerId: string; deviceId: string },
  sha256: string,
  size: number,
): Promise<"worktree" | "folder"> {
  let answer;
  try {
    answer = await askDevice(
      env,
      target,
      { method: "workspace.restore", taskId: task.id, sha256, size },
      DEVICE_WAIT_MS,
    );
  } catch (error) {
    if (error instanceof ApiError && error.code === "device_offline") {
      throw new ApiError(
        409,
        "device_offline",
        `Device ${target.deviceId} went offline, so the task's workspace could not be restored there; nothing was sent. Try again once it is online, or choose another device.`,
      );
    }
    throw new RestoreFailed(
      error instanceof ApiError ? error.message : `The workspace could not be restored: ${error}`,
    );
  }
  await saveWorkspace(env, task, {
    deviceOwnerId: target.ownerId,
    deviceId: target.deviceId,
    onDevice: true,
  });
  return answer.kind === "restored" ? (answer.place ?? "folder") : "folder";
}
