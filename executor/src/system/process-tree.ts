// Killing a whole process tree. Claude Code runs each Bash tool call in a new session
// (setsid), so killing Claude's process group is not enough: a `sleep 300` it started would
// survive as an orphan. We therefore find every descendant first, then kill them all.
// A pid is only a number: once its process is gone, the kernel may give it to an unrelated one.
// So each process is remembered with its start time (/proc/<pid>/stat field 22) when listed,
// and checked again right before every signal: a pid that now names another process is left
// alone.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** A process as listed: its pid and when it started (clock ticks since boot; null: unknown). */
export interface ProcessRef {
  pid: number;
  start: string | null;
}

/** The fields of /proc/<pid>/stat after `comm` (field 3, the state, comes first). */
function statFields(pid: number | string): string[] | null {
  try {
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses: read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (starttime); null when there is no such process (or no /proc). */
export function startTime(pid: number): string | null {
  if (process.platform !== "linux") return null;
  return statFields(pid)?.[22 - 3] ?? null;
}

/** The process that has `pid` now. */
export function processRef(pid: number): ProcessRef {
  return { pid, start: startTime(pid) };
}

/**
 * Whether `ref` still names the process that was listed: `same`, `gone` (no process has the
 * pid), or `other` (the pid was given to another process since). Without /proc (macOS) the
 * start time is unknown and a living pid counts as the same, as before.
 */
function identity(ref: ProcessRef): "same" | "gone" | "other" {
  if (ref.start === null) return isAlive(ref.pid) ? "same" : "gone";
  const now = startTime(ref.pid);
  if (now === null) return "gone";
  return now === ref.start ? "same" : "other";
}

interface Listed {
  ppid: number;
  start: string | null;
}

/** pid → parent pid (and start time) of every process we can see. */
function parentMap(): Map<number, Listed> {
  return process.platform === "linux" ? parentMapFromProc() : parentMapFromPs();
}

function parentMapFromProc(): Map<number, Listed> {
  const parents = new Map<number, Listed>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return parentMapFromPs();
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    // A process that ended while we looked has no stat: nothing to kill.
    const fields = statFields(entry);
    const ppid = Number(fields?.[1]);
    if (fields && Number.isInteger(ppid)) {
      parents.set(Number(entry), { ppid, start: fields[22 - 3] ?? null });
    }
  }
  return parents;
}

function parentMapFromPs(): Map<number, Listed> {
  const parents = new Map<number, Listed>();
  try {
    const out = execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8", timeout: 2000 });
    for (const line of out.split("\n")) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid !== undefined && ppid !== undefined && Number.isInteger(pid)) {
        parents.set(pid, { ppid, start: null });
      }
    }
  } catch {
    // No `ps` (e.g. Windows): the caller still kills the root and its process group.
  }
  return parents;
}

/**
 * Every descendant of `root` (children, grandchildren, ...), not including the root, each with
 * its start time. A root given as a ref that names another process by now has none of ours.
 */
export function listDescendants(root: number | ProcessRef): ProcessRef[] {
  const rootPid = typeof root === "number" ? root : root.pid;
  const all = parentMap();
  const rootStart = all.get(rootPid)?.start ?? null;
  if (typeof root !== "number" && root.start !== null && rootStart !== root.start) return [];
  const children = new Map<number, ProcessRef[]>();
  for (const [pid, { ppid, start }] of all) {
    const list = children.get(ppid);
    if (list) list.push({ pid, start });
    else children.set(ppid, [{ pid, start }]);
  }
  const found: ProcessRef[] = [];
  const queue = [rootPid];
  const seen = new Set<number>(queue);
  while (queue.length > 0) {
    const pid = queue.shift();
    if (pid === undefined) break;
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Kills `root` and everything it started, with SIGKILL: stopping a run must not depend on
 * the agent cooperating. Descendants are listed before anything dies, because a killed
 * parent's children are re-parented to init and can no longer be found by walking the tree.
 * `alsoKill` are processes seen earlier (e.g. before a graceful stop) that may have been
 * re-parented since — or have ended, their pid given to someone else: each pid's start time is
 * checked right before each signal, and a pid that names another process now is left alone.
 * A root given as a number is taken as the process that has it when this is called (the
 * caller's child, not yet reaped). Repeats a few times to catch processes forked while we were
 * killing. Resolves with the pids it signalled.
 */
export async function killTree(
  root: number | ProcessRef,
  alsoKill: ProcessRef[] = [],
): Promise<number[]> {
  const rootRef = typeof root === "number" ? processRef(root) : root;
  const signalled = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const targets = [rootRef, ...alsoKill, ...listDescendants(rootRef)];
    for (const ref of alsoKill) targets.push(...listDescendants(ref));
    const fresh = targets.filter((ref) => identity(ref) === "same");
    if (fresh.length === 0) break;
    // SIGSTOP first so nothing forks between listing and killing.
    for (const ref of fresh) signalIfSame(ref, "SIGSTOP");
    const more = [...fresh];
    for (const ref of fresh) more.push(...listDescendants(ref));
    for (const ref of more) {
      // A process that leads its own group (the Bash tool's setsid shell) takes its whole
      // group with it, which also reaches members already re-parented away from the tree.
      if (signalIfSame(ref, "SIGKILL")) signalled.add(ref.pid);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return [...signalled];
}

/**
 * Signals `ref` and its process group, only while the pid still names the listed process. A
 * group whose leader is gone is still signalled: its number cannot be given to a new process
 * while a member holds it. A pid that names another process now gets nothing.
 */
function signalIfSame(ref: ProcessRef, sig: NodeJS.Signals): boolean {
  const state = identity(ref);
  if (state === "other") return false;
  if (sig === "SIGKILL") signal(-ref.pid, sig);
  if (state === "same") signal(ref.pid, sig);
  return true;
}
