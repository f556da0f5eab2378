// Per-task resource limits of the cloud sandbox. cgroup v2 (memory.max, pids.max for the whole
// task) where the executor's cgroup is delegated to it and writable; otherwise rlimits set in
// the sandbox before it drops to the task's uid (prlimit): RLIMIT_NPROC for the task's uid,
// RLIMIT_DATA per process. Always: a size-capped /tmp (bwrap `--size`), RLIMIT_FSIZE per file
// and a watchdog on the task's workspace and HOME (limits-watchdog.ts). What could not be
// applied is said once at start and shown on the pool's device page.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SandboxLimits {
  /** Processes (threads count too) of one task. */
  processes: number;
  memoryBytes: number;
  tmpBytes: number;
  /** The task's workspace and HOME together. */
  workspaceBytes: number;
}

const MB = 1024 * 1024;
export const DEFAULT_LIMITS: SandboxLimits = {
  processes: 1024,
  memoryBytes: 4096 * MB,
  tmpBytes: 1024 * MB,
  workspaceBytes: 10240 * MB,
};

function positive(value: string | undefined, fallback: number, unit = 1): number {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n * unit : fallback;
}

/** `WEGENT_CLOUD_MAX_PROCESSES`, `WEGENT_CLOUD_MEMORY_MB`, `_TMP_MB`, `_WORKSPACE_MB`. */
export function limitsFromEnv(env: Record<string, string | undefined>): SandboxLimits {
  return {
    processes: positive(env.WEGENT_CLOUD_MAX_PROCESSES, DEFAULT_LIMITS.processes),
    memoryBytes: positive(env.WEGENT_CLOUD_MEMORY_MB, DEFAULT_LIMITS.memoryBytes, MB),
    tmpBytes: positive(env.WEGENT_CLOUD_TMP_MB, DEFAULT_LIMITS.tmpBytes, MB),
    workspaceBytes: positive(env.WEGENT_CLOUD_WORKSPACE_MB, DEFAULT_LIMITS.workspaceBytes, MB),
  };
}

export const mib = (bytes: number): string =>
  bytes >= 1024 * MB ? `${(bytes / 1024 / MB).toFixed(1)} GiB` : `${Math.round(bytes / MB)} MiB`;

/** How the limits are enforced on this machine, decided once at start. */
export interface LimitPlan {
  limits: SandboxLimits;
  /** The folder under which each task gets its own cgroup, or null (rlimits). */
  cgroupRoot: string | null;
  /** prlimit's path, or null. */
  prlimit: string | null;
  /** Whether RLIMIT_NPROC can count one task (only when each task has its own uid). */
  perTaskUid: boolean;
  applied: string[];
  notApplied: string[];
}

const CGROUP_FS = "/sys/fs/cgroup";

/**
 * A cgroup v2 folder the executor may make task cgroups in, with memory and pids enabled for
 * them, or why not. Follows the delegation rule (no processes beside enabled controllers): when
 * the executor's own cgroup holds processes, they move into a leaf `<own>/executor` first.
 */
export function delegatedCgroup(): { dir: string } | { why: string } {
  try {
    if (!existsSync(join(CGROUP_FS, "cgroup.controllers")))
      return { why: "no cgroup v2 hierarchy at /sys/fs/cgroup" };
    const line = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"));
    if (!line) return { why: "the executor is in no cgroup v2" };
    const own = join(CGROUP_FS, line.slice(3).trim());
    const available = readFileSync(join(own, "cgroup.controllers"), "utf8").split(/\s+/);
    for (const c of ["memory", "pids"])
      if (!available.includes(c)) return { why: `the ${c} controller is not delegated to ${own}` };
    const enable = () => writeFileSync(join(own, "cgroup.subtree_control"), "+memory +pids");
    try {
      enable();
    } catch {
      const leaf = join(own, "executor");
      mkdirSync(leaf, { recursive: true });
      const procs = readFileSync(join(own, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
      for (const pid of procs) writeFileSync(join(leaf, "cgroup.procs"), pid);
      enable();
    }
    return { dir: own };
  } catch (error) {
    return { why: `cgroup v2 is not writable here (${(error as Error).message})` };
  }
}

export function planLimits(
  limits: SandboxLimits,
  options: {
    prlimit: string | null;
    perTaskUid: boolean;
    cgroup: { dir: string } | { why: string };
  },
): LimitPlan {
  const applied: string[] = [];
  const notApplied: string[] = [];
  const cgroupRoot = "dir" in options.cgroup ? options.cgroup.dir : null;
  const rl = options.prlimit !== null;
  if (cgroupRoot) {
    applied.push(`processes ${limits.processes} (cgroup pids.max)`);
    applied.push(`memory ${mib(limits.memoryBytes)} per task (cgroup memory.max)`);
  } else {
    const why = "why" in options.cgroup ? options.cgroup.why : "";
    if (rl && options.perTaskUid)
      applied.push(`processes ${limits.processes} per task uid (RLIMIT_NPROC)`);
    else
      notApplied.push(
        `processes: ${rl ? "tasks share the executor's uid (not root)" : "prlimit not found"}; ${why}`,
      );
    if (rl) {
      applied.push(`memory ${mib(limits.memoryBytes)} per process (RLIMIT_DATA)`);
      notApplied.push(`memory per task (only per process): ${why}`);
    } else notApplied.push(`memory: prlimit not found; ${why}`);
  }
  applied.push(`/tmp ${mib(limits.tmpBytes)} (tmpfs size)`);
  applied.push(`workspace ${mib(limits.workspaceBytes)} (watchdog${rl ? ", RLIMIT_FSIZE" : ""})`);
  return {
    limits,
    cgroupRoot,
    prlimit: options.prlimit,
    perTaskUid: options.perTaskUid,
    applied,
    notApplied,
  };
}

/**
 * The argv prefix (inside the sandbox, before dropping to the task's uid) setting rlimits;
 * the per-process ones stand in for the task's cgroup when it has none.
 */
export function rlimitArgs(plan: LimitPlan, cgroup: string | null): string[] {
  if (plan.prlimit === null) return [];
  const { limits } = plan;
  const args = [plan.prlimit, `--fsize=${limits.workspaceBytes}`];
  if (cgroup === null) {
    if (plan.perTaskUid) args.push(`--nproc=${limits.processes}`);
    args.push(`--data=${limits.memoryBytes}`);
  }
  return [...args, "--"];
}

/** A task's own cgroup with its limits, or null (then rlimits alone). */
export function taskCgroup(plan: LimitPlan, taskId: string): string | null {
  if (plan.cgroupRoot === null) return null;
  const dir = join(plan.cgroupRoot, `wegent-${taskId}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "memory.max"), String(plan.limits.memoryBytes));
    writeFileSync(join(dir, "pids.max"), String(plan.limits.processes));
  } catch {
    return null;
  }
  try {
    writeFileSync(join(dir, "memory.swap.max"), "0");
  } catch {
    // absent without swap accounting
  }
  return dir;
}

export function removeTaskCgroup(dir: string | null): void {
  if (dir === null) return;
  try {
    rmdirSync(dir);
  } catch {
    // still has processes (dying) or gone; removed at the next use or start
  }
}

/** Wraps the bwrap argv so the sandbox starts inside `cgroup` (no process escapes the move). */
export function inCgroup(cgroup: string | null, argv: string[]): string[] {
  if (cgroup === null) return argv;
  return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv];
}
