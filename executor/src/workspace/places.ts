// Where a task's workspace is on this device. A scratch task works in `<workspaceRoot>/<id>`; a
// task in a git project in its own worktree `<home>/worktrees/<project id>/<short id>` on branch
// `wegent/<short id>`; a task in a non-git project (or a terminal session continued in its
// directory) in the project directory itself ("in place"). The executor records each task's
// directory when it first runs (`<home>/command-state/<id>/workspace.json`, outside the agent's
// reach); this reads that record and never trusts a path from the hub or from an archive.
import { readdir, readFile, realpath } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { z } from "zod";
import { commandStateDir } from "../commands/task-workspaces";
import { git } from "../local/projects";
import { taskBranch } from "../local/worktrees";
import { TASK_ID, type WorkspaceRoots } from "./layout";

export type TaskPlace =
  | { kind: "scratch"; dir: string }
  | {
      kind: "worktree";
      dir: string;
      branch: string;
      /** The commit the task started from (recorded when it first ran). */
      base: string | null;
    }
  | { kind: "in_place"; dir: string };

const Record = z.object({ dir: z.string().min(1), base: z.string().nullable().optional() });

export const worktreesRoot = (roots: WorkspaceRoots) => join(roots.homeDir, "worktrees");

export function inside(root: string, path: string): boolean {
  return path !== root && path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function readRecord(roots: WorkspaceRoots, taskId: string) {
  try {
    const raw = await readFile(join(commandStateDir(roots.homeDir, taskId), "workspace.json"));
    if (raw.length > 64 * 1024) return null;
    const parsed = Record.safeParse(JSON.parse(raw.toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The task's place on this device (a scratch folder when nothing else was recorded). */
export async function locateTask(roots: WorkspaceRoots, taskId: string): Promise<TaskPlace> {
  const scratch = { kind: "scratch" as const, dir: join(roots.workspaceRoot, taskId) };
  const record = await readRecord(roots, taskId);
  if (!record) return scratch;
  const realScratch = await realpath(scratch.dir).catch(() => scratch.dir);
  if (record.dir === realScratch || record.dir === scratch.dir) return scratch;
  const trees = await realpath(worktreesRoot(roots)).catch(() => worktreesRoot(roots));
  // Only `<worktrees>/<project id>/<short id>` of this very task is its worktree.
  const short = taskId.slice(0, 8);
  if (inside(trees, record.dir) && record.dir.slice(trees.length + 1).split(sep)[1] === short) {
    const base = record.base && /^[0-9a-f]{40,64}$/.test(record.base) ? record.base : null;
    return { kind: "worktree", dir: record.dir, branch: taskBranch(taskId), base };
  }
  return { kind: "in_place", dir: record.dir };
}

/** Every task of this device with a record (the ids of `<home>/command-state/`). */
export async function recordedTasks(roots: WorkspaceRoots): Promise<string[]> {
  const names = await readdir(join(roots.homeDir, "command-state")).catch(() => [] as string[]);
  return names.filter((n) => TASK_ID.test(n));
}

/**
 * The repository a worktree belongs to (its main checkout), checked: `dir` must be the top of
 * a worktree whose common git dir is `<project>/.git`, and never the project itself.
 */
export async function worktreeProject(dir: string): Promise<string | null> {
  const real = await realpath(dir).catch(() => null);
  if (!real) return null;
  const top = await git(["rev-parse", "--show-toplevel"], real);
  if (!top.ok || top.out.trim() !== real) return null;
  const common = await git(["rev-parse", "--path-format=absolute", "--git-common-dir"], real);
  if (!common.ok) return null;
  const gitDir = common.out.trim();
  if (!gitDir.endsWith(`${sep}.git`)) return null;
  const project = await realpath(dirname(gitDir)).catch(() => null);
  return project && project !== real ? project : null;
}
