// Where a task lives on this device, in one place: every task path is made here.
//
// - A scratch task works in `<workspaceRoot>/<id>`; a task in a git project in its own worktree
//   `<home>/worktrees/<project id>/<short id>` on branch `wegent/<short id>`; a task in a non-git
//   project (or a terminal session continued in its directory) in the project directory itself
//   ("in place").
// - The task's own folder (the agent's HOME and TMPDIR) is `<home>/tasks/<id>`.
// - The executor records each task's directory when it first runs
//   (`<home>/command-state/<id>/workspace.json`, outside the agent's reach) with its base (the
//   commit it started from, or a snapshot of a non-git folder), so the diff shows everything the
//   agent changed since, even what it committed. This reads that record and never trusts a path
//   from the hub or from an archive.
import { mkdir, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { z } from "zod";
import { gitOut, git } from "../system/git";
import { snapshotFolder } from "./changes";
import { TASK_ID } from "./layout";

export interface TaskPaths {
  /** The agent's cwd: `<workspaceRoot>/<taskId>`. */
  workspaceDir: string;
  /** The task's own folder (HOME, TMPDIR): `<home>/tasks/<taskId>`. */
  taskHome: string;
  /** The agent's HOME: `<task folder>/home`. */
  agentHome: string;
  /** The agent's TMPDIR: `<task folder>/tmp`. */
  tmpDir: string;
  /** Claude Code's per-cwd session folders: `<task HOME>/.claude/projects` (or the owner's). */
  claudeProjects: string;
}

export interface WorkspaceRoots {
  workspaceRoot: string;
  homeDir: string;
  /**
   * Local mode: the owner's `<Claude config>/projects` (the agent runs with the real HOME).
   * Unset: each task's own HOME keeps its sessions.
   */
  claudeProjectsRoot?: string;
  /**
   * Agents run sandboxed as someone else (cloud mode): git is never run in a task's folder
   * (the agent's own repo config there could run a program as the executor), so nothing in it
   * counts as git-ignored.
   */
  agentsSandboxed?: boolean;
}

export function taskPaths(roots: WorkspaceRoots, taskId: string): TaskPaths {
  const taskHome = join(roots.homeDir, "tasks", taskId);
  return {
    workspaceDir: scratchDir(roots, taskId),
    taskHome,
    agentHome: join(taskHome, "home"),
    tmpDir: join(taskHome, "tmp"),
    claudeProjects: roots.claudeProjectsRoot ?? join(taskHome, "home", ".claude", "projects"),
  };
}

/** Claude Code names a cwd's session folder after the path with every non-alphanumeric as `-`. */
export function claudeProjectName(cwd: string): string {
  return cwd.replace(/[^a-zA-Z0-9]/g, "-");
}

export const worktreesRoot = (roots: Pick<WorkspaceRoots, "homeDir">) =>
  join(roots.homeDir, "worktrees");

/** The branch of a task's worktree. */
export const taskBranch = (taskId: string) => `wegent/${taskId.slice(0, 8)}`;

/** A task's worktree in a project: `<worktrees root>/<project id>/<short id>`. */
export const taskWorktree = (root: string, projectId: string, taskId: string) =>
  join(root, projectId, taskId.slice(0, 8));

/** A scratch task's folder: `<workspaceRoot>/<id>`. */
export const scratchDir = (roots: Pick<WorkspaceRoots, "workspaceRoot">, taskId: string) =>
  join(roots.workspaceRoot, taskId);

/** The folders that hold one entry per task (by id): what a crashed run may have left. */
export const perTaskRoots = (roots: Omit<WorkspaceRoots, "claudeProjectsRoot">) => [
  join(roots.homeDir, "tasks"),
  roots.workspaceRoot,
  join(roots.homeDir, "command-state"),
];

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

const PlaceRecord = z.object({ dir: z.string().min(1), base: z.string().nullable().optional() });

export function inside(root: string, path: string): boolean {
  return path !== root && path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function readRecord(roots: WorkspaceRoots, taskId: string) {
  try {
    const raw = await readFile(join(commandStateDir(roots.homeDir, taskId), "workspace.json"));
    if (raw.length > 64 * 1024) return null;
    const parsed = PlaceRecord.safeParse(JSON.parse(raw.toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The task's place on this device (a scratch folder when nothing else was recorded). */
export async function locateTask(roots: WorkspaceRoots, taskId: string): Promise<TaskPlace> {
  const scratch = { kind: "scratch" as const, dir: scratchDir(roots, taskId) };
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
  const top = await gitOut(["rev-parse", "--show-toplevel"], real);
  if (!top.ok || top.out.trim() !== real) return null;
  const common = await gitOut(["rev-parse", "--path-format=absolute", "--git-common-dir"], real);
  if (!common.ok) return null;
  const gitDir = common.out.trim();
  if (!gitDir.endsWith(`${sep}.git`)) return null;
  const project = await realpath(dirname(gitDir)).catch(() => null);
  return project && project !== real ? project : null;
}

/**
 * Per-task state of the workspace commands (the record, a scratch folder's baseline). Not under
 * tasks/<id>/, which holds the agent's own HOME: the agent must not be able to rewrite it.
 */
export function commandStateDir(homeDir: string, taskId: string): string {
  return join(homeDir, "command-state", taskId);
}

/**
 * Removes a task's command state with its workspace (cleanup): the baseline and view objects,
 * indexes. `keepRecord` keeps only `workspace.json` (a worktree's record: its base is a commit
 * of the project, a few bytes, and a restored worktree is found by it again).
 */
export async function removeCommandState(
  homeDir: string,
  taskId: string,
  keepRecord: boolean,
): Promise<void> {
  const dir = commandStateDir(homeDir, taskId);
  if (!keepRecord) {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name !== "workspace.json") await rm(join(dir, name), { recursive: true, force: true });
  }
}

interface WorkspaceRecord {
  dir: string;
  /** The commit the task started from, or the tree of a non-git folder when it started. */
  base: string | null;
  /**
   * The branch a task's worktree was made from (the project's checked-out branch when the task
   * first ran): where `git.merge` lands the work.
   */
  baseBranch?: string | null;
}

export interface TaskWorkspacesOptions {
  /**
   * Agents run sandboxed as someone else (cloud mode): a folder is never taken as a git
   * checkout, whatever repo the agent made in it; its base is a snapshot in the executor's own
   * baseline git dir. Local mode (the default here) diffs a project's worktree with its commit.
   */
  agentsSandboxed?: boolean;
}

export class TaskWorkspaces {
  constructor(
    private readonly homeDir: string,
    private readonly workspaceRoot: string,
    private readonly options: TaskWorkspacesOptions = {},
  ) {}

  private file(taskId: string): string {
    return join(commandStateDir(this.homeDir, taskId), "workspace.json");
  }

  /** Called when a task's message gets its workspace; the first call fixes the base. */
  async record(taskId: string, dir: string): Promise<void> {
    const real = await realpath(dir);
    const held = await this.read(taskId);
    if (held && held.dir === real) return;
    const stateDir = commandStateDir(this.homeDir, taskId);
    await mkdir(stateDir, { recursive: true });
    // A new scratch folder (the common case): its base is empty, no git process needed.
    if ((await readdir(real)).length === 0) {
      await writeFile(
        this.file(taskId),
        JSON.stringify({ dir: real, base: null } satisfies WorkspaceRecord),
      );
      return;
    }
    let base: string | null = null;
    let baseBranch: string | null = null;
    // Sandboxed: no git at all in the agent's folder (its config would run as the executor).
    const top = this.options.agentsSandboxed
      ? null
      : await git(["rev-parse", "--show-toplevel"], { cwd: real, allow: [128] }).catch(() => null);
    if (top?.code === 0 && (await realpath(top.stdout.toString("utf8").trim())) === real) {
      const head = await git(["rev-parse", "--verify", "-q", "HEAD"], { cwd: real, allow: [1] });
      if (head.code === 0) base = head.stdout.toString("utf8").trim();
      baseBranch = await projectBranch(real);
    } else {
      // Not a checkout: keep what the folder holds now (empty for a new scratch folder).
      base = await snapshotFolder(real, stateDir, this.options.agentsSandboxed === true);
    }
    await writeFile(
      this.file(taskId),
      JSON.stringify({ dir: real, base, baseBranch } satisfies WorkspaceRecord),
    );
  }

  /** The branch the task's worktree was made from, as recorded when it first ran. */
  async baseBranch(taskId: string): Promise<string | null> {
    return (await this.read(taskId))?.baseBranch ?? null;
  }

  private async read(taskId: string): Promise<WorkspaceRecord | null> {
    try {
      const json = JSON.parse(
        await readFile(this.file(taskId), "utf8"),
      ) as Partial<WorkspaceRecord>;
      if (typeof json.dir !== "string") return null;
      return {
        dir: json.dir,
        base: typeof json.base === "string" ? json.base : null,
        baseBranch: typeof json.baseBranch === "string" ? json.baseBranch : null,
      };
    } catch {
      return null;
    }
  }

  /** The task's workspace: the recorded one, else the scratch folder if it exists. */
  async resolve(taskId: string): Promise<{ dir: string; base?: string } | null> {
    const held = await this.read(taskId);
    if (held) return held.base ? { dir: held.dir, base: held.base } : { dir: held.dir };
    const scratch = scratchDir({ workspaceRoot: this.workspaceRoot }, taskId);
    const real = await realpath(scratch).catch(() => null);
    return real ? { dir: real } : null;
  }
}

/**
 * For a task's worktree: the branch checked out in the project's main checkout (the worktree was
 * just made from its HEAD). Null for a checkout that is not a linked worktree.
 */
async function projectBranch(worktree: string): Promise<string | null> {
  const dirs = await git(["rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir"], {
    cwd: worktree,
  }).catch(() => null);
  const [gitDir, common] = dirs?.stdout.toString("utf8").trim().split("\n") ?? [];
  if (!gitDir || !common || gitDir === common || !common.endsWith("/.git")) return null;
  const main = common.slice(0, -"/.git".length);
  const head = await git(["symbolic-ref", "-q", "--short", "HEAD"], {
    cwd: main,
    allow: [1],
  }).catch(() => null);
  const name = head?.code === 0 ? head.stdout.toString("utf8").trim() : "";
  return name.length > 0 && name.length < 256 ? name : null;
}
