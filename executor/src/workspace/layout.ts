import { join } from "node:path";

// Where a task's workspace lives on this machine, and what of it goes into an archive.

export interface TaskPaths {
  /** The agent's cwd: `<workspaceRoot>/<taskId>`. */
  workspaceDir: string;
  /** The task's own folder (HOME, TMPDIR): `<home>/tasks/<taskId>`. */
  taskHome: string;
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
    workspaceDir: join(roots.workspaceRoot, taskId),
    taskHome,
    claudeProjects: roots.claudeProjectsRoot ?? join(taskHome, "home", ".claude", "projects"),
  };
}

/** Claude Code names a cwd's session folder after the path with every non-alphanumeric as `-`. */
export function claudeProjectName(cwd: string): string {
  return cwd.replace(/[^a-zA-Z0-9]/g, "-");
}

/** Folders that are caches, never worth archiving (git-ignored files are left out as well). */
export const SKIPPED_NAMES = new Set([
  "node_modules",
  "__pycache__",
  ".venv",
  ".cache",
  ".pytest_cache",
  ".mypy_cache",
  ".gradle",
  ".next",
  ".turbo",
]);

export const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Archive entry prefixes. */
export const WORKSPACE_PREFIX = "workspace";
export const SESSION_PREFIX = "claude";
/** How the archive lays out again (worktree or in-place tasks; scratch archives have none). */
export const MANIFEST = "wegent-workspace.json";
