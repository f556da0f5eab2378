// Where a task in a project runs. A git project: the task's own worktree on a new branch
// `wegent/<short task id>` from the project's current HEAD (follow-ups reuse it), so tasks never
// share a working tree and the user's checkout is never touched. A non-git project, or a
// terminal session continued in its own directory: the directory itself, one task at a time.
import { existsSync } from "node:fs";
import { lstat, mkdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import type { FailureCode, Project, RuntimeId } from "@wegent/protocol";
import type { Logger } from "../log";
import { gitOut } from "../system/git";
import { taskBranch, taskWorktree } from "../workspace/places";
import type { ProjectRegistry } from "./projects";
import { sessionFile } from "./sessions";

export interface Workspace {
  dir: string;
  /** The branch the task works on, when it is a git project. */
  branch: string | null;
  release(): void;
}

export type WorkspaceResult =
  { ok: true; workspace: Workspace } | { ok: false; code: FailureCode; message: string };

export interface WorkspaceRequest {
  taskId: string;
  projectId: string;
  resumeSessionId: string | null;
  /** The task's agent (a Codex thread is found through Codex, not Claude's files). */
  runtime?: RuntimeId;
}

/** One holder at a time per key; waiters in arrival order; waiting can be aborted. */
class Locks {
  private readonly held = new Map<string, (() => void)[]>();

  acquire(key: string, signal: AbortSignal, onWait: () => void): Promise<(() => void) | null> {
    const release = () => {
      const waiters = this.held.get(key);
      const next = waiters?.shift();
      if (next) next();
      else this.held.delete(key);
    };
    const waiters = this.held.get(key);
    if (!waiters) {
      this.held.set(key, []);
      return Promise.resolve(once(release));
    }
    onWait();
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener("abort", abort);
        resolve(once(release));
      };
      const abort = () => {
        const list = this.held.get(key);
        const at = list?.indexOf(grant) ?? -1;
        if (list && at >= 0) list.splice(at, 1);
        resolve(null);
      };
      waiters.push(grant);
      signal.addEventListener("abort", abort, { once: true });
    });
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}

export class LocalWorkspaces {
  /** In-place work: one task per directory. */
  private readonly directories = new Locks();
  /** git worktree add/remove per repository, one at a time (they take the repo's locks). */
  private readonly gitOps = new Locks();

  constructor(
    private readonly projects: ProjectRegistry,
    private readonly options: {
      /** `<executor home>/worktrees` */
      worktreesRoot: string;
      /** Claude Code's config folder of the user (where its sessions are). */
      claudeConfigDir: string;
      /** The folder a Codex thread was made in (the owner's CODEX_HOME), or null. */
      codexThreadDir?: (threadId: string) => Promise<string | null>;
      log?: Logger;
    },
  ) {}

  async acquire(request: WorkspaceRequest, signal: AbortSignal): Promise<WorkspaceResult> {
    const found = await this.projects.lookup(request.projectId);
    if (!found.ok) return found;
    const project = found.project;
    const continuesHere =
      request.resumeSessionId !== null &&
      (await this.madeHere(project, request.runtime ?? "claude-code", request.resumeSessionId));
    if (!project.git || continuesHere) return this.inPlace(project, request, signal);
    return this.worktree(project, request, signal);
  }

  /**
   * A session made in the project directory itself (a terminal session being continued), not
   * in a task's worktree: it goes on there. Claude's: its file under the directory's folder;
   * Codex's: the thread's own folder is the project directory.
   */
  private async madeHere(project: Project, runtime: RuntimeId, sessionId: string) {
    if (runtime === "codex") {
      const dir = await this.options.codexThreadDir?.(sessionId).catch(() => null);
      return dir === project.path;
    }
    return existsSync(sessionFile(this.options.claudeConfigDir, project.path, sessionId));
  }

  private async inPlace(
    project: Project,
    request: WorkspaceRequest,
    signal: AbortSignal,
  ): Promise<WorkspaceResult> {
    const release = await this.directories.acquire(project.id, signal, () =>
      this.options.log?.info("waiting: another task works in this project directory", {
        taskId: request.taskId,
        project: project.name,
      }),
    );
    if (!release) return { ok: false, code: "cancelled", message: "Cancelled while waiting." };
    return { ok: true, workspace: { dir: project.path, branch: project.branch, release } };
  }

  private async worktree(
    project: Project,
    request: WorkspaceRequest,
    signal: AbortSignal,
  ): Promise<WorkspaceResult> {
    const branch = taskBranch(request.taskId);
    const dir = taskWorktree(this.options.worktreesRoot, project.id, request.taskId);
    const release = await this.gitOps.acquire(`git:${project.id}`, signal, () => undefined);
    if (!release) return { ok: false, code: "cancelled", message: "Cancelled while waiting." };
    try {
      const entry = await lstat(dir).catch(() => null);
      if (entry?.isSymbolicLink()) {
        return { ok: false, code: "project_unavailable", message: `${dir} is a symlink; refused.` };
      }
      if (entry) {
        // A follow-up: the task's worktree is there already, if it still is one of this repo.
        const top = await gitOut(["rev-parse", "--show-toplevel"], dir);
        const real = await realpath(dir).catch(() => null);
        if (top.ok && real !== null && top.out.trim() === real) {
          return { ok: true, workspace: { dir: real, branch, release: () => undefined } };
        }
        return {
          ok: false,
          code: "project_unavailable",
          message: `The task's worktree ${dir} is damaged; start a new task.`,
        };
      }
      await mkdir(join(this.options.worktreesRoot, project.id), { recursive: true });
      const exists = await gitOut(
        ["rev-parse", "--verify", "-q", `refs/heads/${branch}`],
        project.path,
      );
      const added = exists.ok
        ? await gitOut(["worktree", "add", dir, branch], project.path)
        : await gitOut(["worktree", "add", "-b", branch, dir, "HEAD"], project.path);
      if (!added.ok) {
        return {
          ok: false,
          code: "project_unavailable",
          message: `Could not create a git worktree of ${project.name} for this task: ${added.out.trim().slice(0, 1000)}`,
        };
      }
      this.options.log?.info("task worktree created", { taskId: request.taskId, branch, dir });
      return {
        ok: true,
        workspace: { dir: await realpath(dir), branch, release: () => undefined },
      };
    } finally {
      release();
    }
  }
}
