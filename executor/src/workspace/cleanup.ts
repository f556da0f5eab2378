import { lstat, readdir, rm } from "node:fs/promises";
import type { CleanupEntry, CleanupReport } from "@wegent/protocol";
import { join } from "node:path";
import {
  claudeProjectName,
  TASK_ID,
  type TaskPaths,
  type WorkspaceRoots,
  taskPaths,
} from "./layout";
import { measure } from "./walk";

const HOUR = 60 * 60 * 1000;

export interface CleanupHooks {
  running(taskId: string): boolean;
  /** Archives the task and resolves once the Worker verified it; throws why not. */
  archive(taskId: string, paths: TaskPaths): Promise<void>;
  /** Tells the Worker the workspace is gone from this device. */
  removed(taskId: string): Promise<void>;
}

/**
 * Task workspaces of this device (only `<workspaceRoot>/<task uuid>` folders — never a project
 * checkout or anything else), with the idle ones archived and removed, or listed on a dry run.
 */
export async function cleanup(
  roots: WorkspaceRoots,
  request: { olderThanHours: number; dryRun: boolean },
  hooks: CleanupHooks,
  now = Date.now(),
): Promise<CleanupReport> {
  const names = await readdir(roots.workspaceRoot).catch(() => [] as string[]);
  const entries: CleanupEntry[] = [];
  let totalBytes = 0;
  let workspaces = 0;
  for (const name of names) {
    if (!TASK_ID.test(name)) continue;
    const paths = taskPaths(roots, name);
    const info = await lstat(paths.workspaceDir).catch(() => null);
    if (!info?.isDirectory()) continue;
    workspaces += 1;
    const ws = await measure(paths.workspaceDir);
    const home = await measure(join(paths.claudeProjects, claudeProjectName(paths.workspaceDir)));
    totalBytes += ws.bytes;
    const idleHours = Math.max(0, (now - Math.max(ws.newestMs, home.newestMs)) / HOUR);
    if (idleHours < request.olderThanHours) continue;
    const base = { taskId: name, bytes: ws.bytes, idleHours: Math.round(idleHours * 100) / 100 };
    if (hooks.running(name)) {
      entries.push({ ...base, outcome: "kept", reason: "The task is running." });
      continue;
    }
    if (request.dryRun) {
      entries.push({ ...base, outcome: "would_remove", reason: null });
      continue;
    }
    try {
      await hooks.archive(name, paths);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      entries.push({ ...base, outcome: "kept", reason: `Not archived, so kept: ${why}` });
      continue;
    }
    await rm(paths.workspaceDir, { recursive: true, force: true });
    await rm(paths.taskHome, { recursive: true, force: true });
    await hooks.removed(name).catch(() => undefined);
    entries.push({ ...base, outcome: "removed", reason: null });
  }
  return { totalBytes, workspaces, entries };
}
