// A deleted task's files on this device (`workspace.forget`): its git worktree or scratch folder,
// the snapshot a cleanup kept (pack, record, the hidden ref in the project's repository), its
// own folder (`<home>/tasks/<id>`: the agent's HOME and TMPDIR), its command state (so a later
// cleanup never finds it again) and its Claude session folder. Never the task branch (it may
// hold committed work the owner wants), never the project's own checkout (an in-place task), and
// never a path from the wire: every path is made by places.ts / snapshot.ts from the task id.
import { lstat, realpath, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ForgetReport } from "@wegent/protocol";
import { gitOut } from "../system/git";
import { TASK_ID } from "./layout";
import { claudeProjectName, locateTask, removeCommandState, taskPaths } from "./places";
import { type WorkspaceRoots, worktreeProject } from "./places";
import { dropSnapshot } from "./snapshot";

export interface ForgetContext {
  roots: WorkspaceRoots;
  /** The git projects this device offers: only in those is a snapshot ref deleted. */
  projects: () => readonly { path: string; git: boolean }[];
}

export class ForgetError extends Error {
  readonly code = "internal_error";
}

const exists = async (path: string) => (await lstat(path).catch(() => null)) !== null;

/** Removes what the device keeps of the task (see the top of the file); what it removed. */
export async function forgetTask(context: ForgetContext, taskId: string): Promise<ForgetReport> {
  if (!TASK_ID.test(taskId)) throw new ForgetError("Not a task id.");
  const { roots } = context;
  const removed: ForgetReport = {
    worktree: false,
    folder: false,
    snapshot: false,
    ref: false,
    session: false,
  };
  const place = await locateTask(roots, taskId);
  // The snapshot first: its ref is deleted in the worktree's own repository when it still is one.
  const worktreeRepo = place.kind === "worktree" ? await worktreeProject(place.dir) : null;
  const dropped = await dropSnapshot(roots, taskId, context.projects, worktreeRepo);
  removed.snapshot = dropped.pack;
  removed.ref = dropped.ref;
  if (place.kind === "worktree") {
    // Only the task's own folder, not a link the agent left in its place (to another task's
    // worktree, say): a link is removed as a link, never followed.
    const info = await lstat(place.dir).catch(() => null);
    const own = info?.isDirectory()
      ? join(await realpath(dirname(place.dir)).catch(() => ""), basename(place.dir))
      : null;
    const real = own ? await realpath(place.dir).catch(() => null) : null;
    if (info?.isSymbolicLink()) await rm(place.dir, { force: true });
    if (real && real === own && worktreeRepo && real !== worktreeRepo) {
      const done = await gitOut(["worktree", "remove", "--force", real], worktreeRepo);
      // A failure keeps the worktree (reported as kept); everything else still goes.
      removed.worktree = done.ok;
    }
    // A worktree folder removed by hand: drop git's note of it (the branch stays).
    if (worktreeRepo) await gitOut(["worktree", "prune"], worktreeRepo);
  } else if (place.kind === "scratch") {
    removed.folder = await exists(place.dir);
    await rm(place.dir, { recursive: true, force: true });
  }
  const paths = taskPaths(roots, taskId);
  // Local mode: the session folder Claude Code keeps for the task's own folder (a worktree or
  // scratch path names only this task). In place, that folder is the owner's project's: kept.
  if (roots.claudeProjectsRoot && place.kind !== "in_place") {
    const sessions = join(roots.claudeProjectsRoot, claudeProjectName(place.dir));
    if (await exists(sessions)) {
      await rm(sessions, { recursive: true, force: true });
      removed.session = true;
    }
  }
  if (await exists(paths.taskHome)) {
    await rm(paths.taskHome, { recursive: true, force: true });
    removed.session = true;
  }
  await removeCommandState(roots.homeDir, taskId, false);
  return removed;
}
