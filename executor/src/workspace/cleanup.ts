import { lstat, readdir, realpath, rm } from "node:fs/promises";
import type { CleanupEntry, CleanupReport } from "@wegent/protocol";
import { join } from "node:path";
import { removeCommandState } from "./places";
import { gitOut } from "../system/git";
import { archiveSources } from "./archive";
import { TASK_ID } from "./layout";
import { claudeProjectName, type WorkspaceRoots, taskPaths } from "./places";
import { locateTask, recordedTasks, type TaskPlace, worktreeProject } from "./places";
import { measure } from "./walk";

const HOUR = 60 * 60 * 1000;

export interface CleanupHooks {
  running(taskId: string): boolean;
  /** Archives the task and resolves once the Worker verified it; throws why not. */
  archive(taskId: string, place: TaskPlace): Promise<void>;
  /** Keeps the task's state on this device (a snapshot, nothing uploaded); throws why not. */
  snapshot?(taskId: string, place: TaskPlace): Promise<void>;
  /** Tells the Worker the workspace is gone from this device. */
  removed(taskId: string): Promise<void>;
}

interface Candidate {
  taskId: string;
  place: TaskPlace;
  bytes: number;
  newestMs: number;
}

/**
 * Task workspaces of this device: scratch folders `<workspaceRoot>/<task uuid>` and the task
 * worktrees `<home>/worktrees/<project>/<short id>`, with the idle ones kept (`keep: "cloud"`:
 * archived to R2, verified; `"device"`: a snapshot on this device, nothing uploaded) and then
 * removed (a worktree with `git worktree remove`, its branch kept), or listed on a dry run. A
 * task that ran in a project directory itself is listed and always kept: the user's checkout.
 */
export async function cleanup(
  roots: WorkspaceRoots,
  request: { olderThanHours: number; dryRun: boolean; keep?: "cloud" | "device" },
  hooks: CleanupHooks,
  now = Date.now(),
): Promise<CleanupReport> {
  const entries: CleanupEntry[] = [];
  let totalBytes = 0;
  let workspaces = 0;
  for (const c of await candidates(roots, request.dryRun)) {
    if (c.place.kind !== "in_place") {
      workspaces += 1;
      totalBytes += c.bytes;
    }
    const idleHours = Math.max(0, (now - c.newestMs) / HOUR);
    if (idleHours < request.olderThanHours) continue;
    const base = { taskId: c.taskId, bytes: c.bytes, idleHours: Math.round(idleHours * 100) / 100 };
    if (c.place.kind === "in_place") {
      entries.push({ ...base, outcome: "kept", reason: "project checkout" });
      continue;
    }
    if (hooks.running(c.taskId)) {
      entries.push({ ...base, outcome: "kept", reason: "The task is running." });
      continue;
    }
    if (request.dryRun) {
      entries.push({ ...base, outcome: "would_remove", reason: null });
      continue;
    }
    const local = request.keep === "device";
    try {
      if (local) {
        if (!hooks.snapshot) throw new Error("this device cannot keep snapshots");
        await hooks.snapshot(c.taskId, c.place);
      } else await hooks.archive(c.taskId, c.place);
    } catch (error) {
      const why = (error instanceof Error ? error.message : String(error)).slice(0, 900);
      const reason = local ? `Snapshot failed, so kept: ${why}` : `Not archived, so kept: ${why}`;
      entries.push({ ...base, outcome: "kept", reason });
      continue;
    }
    const gone = await remove(roots, c.taskId, c.place);
    if (gone !== true) {
      const what = local ? "Kept as a snapshot" : "Archived";
      entries.push({ ...base, outcome: "kept", reason: `${what}, but not removed: ${gone}` });
      continue;
    }
    if (local) {
      entries.push({ ...base, outcome: "removed", reason: null, snapshot: true });
      continue;
    }
    await hooks.removed(c.taskId).catch(() => undefined);
    entries.push({ ...base, outcome: "removed", reason: null });
  }
  return { totalBytes, workspaces, entries };
}

/** `sizeInPlace`: measure project directories too (only for the dry-run list; they stay). */
async function candidates(roots: WorkspaceRoots, sizeInPlace: boolean): Promise<Candidate[]> {
  const found: Candidate[] = [];
  const seen = new Set<string>();
  const names = await readdir(roots.workspaceRoot).catch(() => [] as string[]);
  for (const name of names) {
    if (!TASK_ID.test(name)) continue;
    const dir = join(roots.workspaceRoot, name);
    const info = await lstat(dir).catch(() => null);
    if (!info?.isDirectory()) continue;
    seen.add(name);
    const ws = await measure(dir);
    const home = await measure(sessionFolder(roots, name, dir));
    found.push({
      taskId: name,
      place: { kind: "scratch", dir },
      bytes: ws.bytes,
      newestMs: Math.max(ws.newestMs, home.newestMs),
    });
  }
  for (const taskId of await recordedTasks(roots)) {
    if (seen.has(taskId)) continue;
    const place = await locateTask(roots, taskId);
    if (place.kind === "scratch") continue; // its folder is gone (handled above when there)
    const info = await lstat(place.dir).catch(() => null);
    if (!info?.isDirectory()) continue; // a worktree removed earlier
    if (place.kind === "in_place" && !sizeInPlace) {
      found.push({ taskId, place, bytes: 0, newestMs: info.mtimeMs });
      continue;
    }
    let listing;
    try {
      // What would be archived: the files git keeps, plus the task's session files.
      listing = await archiveSources(place, { roots, taskId, deviceId: "", sessionIds: [] });
    } catch {
      continue; // not a worktree any more (damaged): never touched
    }
    const dir = place.kind === "worktree" ? await measure(place.dir) : null;
    found.push({
      taskId,
      place,
      bytes: dir?.bytes ?? listing.bytes,
      newestMs: Math.max(listing.newestMs, info.mtimeMs),
    });
  }
  return found;
}

function sessionFolder(roots: WorkspaceRoots, taskId: string, cwd: string): string {
  return join(taskPaths(roots, taskId).claudeProjects, claudeProjectName(cwd));
}

/** Removes the task's workspace; true, or why not. Never the project's own checkout. */
async function remove(
  roots: WorkspaceRoots,
  taskId: string,
  place: TaskPlace,
): Promise<true | string> {
  const { taskHome } = taskPaths(roots, taskId);
  if (place.kind === "scratch") {
    await rm(place.dir, { recursive: true, force: true });
  } else if (place.kind === "worktree") {
    const project = await worktreeProject(place.dir);
    const real = await realpath(place.dir).catch(() => null);
    if (!project || !real || real === project) return "it is not a task worktree.";
    const done = await gitOut(["worktree", "remove", "--force", real], project);
    if (!done.ok) return done.out.trim().slice(0, 500);
  } else {
    return "project checkout";
  }
  await rm(taskHome, { recursive: true, force: true });
  // The Changes tab's state goes with it (a worktree keeps its few-byte record).
  await removeCommandState(roots.homeDir, taskId, place.kind === "worktree");
  return true;
}
