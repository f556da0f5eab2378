// Where each task works, remembered for the workspace commands: a task's workspace may be a
// project's worktree (or the project folder itself), not only <workspaceRoot>/<taskId>. The
// base commit is taken when the task first gets its workspace, so the diff shows everything the
// agent changed since, even what it committed.
import { mkdir, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { git } from "./git";
import { snapshotFolder } from "./workspace";

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

interface Record {
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
        JSON.stringify({ dir: real, base: null } satisfies Record),
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
      JSON.stringify({ dir: real, base, baseBranch } satisfies Record),
    );
  }

  /** The branch the task's worktree was made from, as recorded when it first ran. */
  async baseBranch(taskId: string): Promise<string | null> {
    return (await this.read(taskId))?.baseBranch ?? null;
  }

  private async read(taskId: string): Promise<Record | null> {
    try {
      const json = JSON.parse(await readFile(this.file(taskId), "utf8")) as Partial<Record>;
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
    const scratch = join(this.workspaceRoot, taskId);
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
