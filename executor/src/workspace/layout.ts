// What of a task's workspace goes into an archive, and how the archive is laid out. Where the
// task's folders are on this machine: places.ts.

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
