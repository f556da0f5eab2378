import type { Project } from "@wegent/protocol";
import type { Work } from "./store";

/**
 * Why a queued message must wait although a slot is free: it works in a device project that is
 * not a git repository (so it runs in the folder itself) and another task works there now.
 * Git projects never wait for each other: every task has its own worktree.
 */
export function projectBusyReason(
  next: Work,
  holders: readonly Work[],
  projects: readonly Project[],
): string | null {
  if (next.projectId === null) return null;
  const project = projects.find((p) => p.id === next.projectId);
  if (!project || project.git) return null;
  const busy = holders.some((h) => h.projectId === next.projectId && h.taskId !== next.taskId);
  return busy
    ? `Waiting for ${project.name}: another task is working in this folder (not a git repository, so one task at a time).`
    : null;
}
