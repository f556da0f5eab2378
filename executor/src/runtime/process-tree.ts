// Killing a whole process tree. Claude Code runs each Bash tool call in a new session
// (setsid), so killing Claude's process group is not enough: a `sleep 300` it started would
// survive as an orphan. We therefore find every descendant first, then kill them all.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** pid → parent pid of every process we can see. */
function parentMap(): Map<number, number> {
  return process.platform === "linux" ? parentMapFromProc() : parentMapFromPs();
}

function parentMapFromProc(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return parentMapFromPs();
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat is "pid (comm) state ppid ..."; comm may contain spaces and
      // parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked: nothing to kill.
    }
  }
  return parents;
}

function parentMapFromPs(): Map<number, number> {
  const parents = new Map<number, number>();
  try {
    const out = execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8", timeout: 2000 });
    for (const line of out.split("\n")) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid !== undefined && ppid !== undefined && Number.isInteger(pid)) {
        parents.set(pid, ppid);
      }
    }
  } catch {
    // No `ps` (e.g. Windows): the caller still kills the root and its process group.
  }
  return parents;
}

/** Every descendant of `rootPid` (children, grandchildren, ...), not including the root. */
export function listDescendants(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentMap()) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  const seen = new Set<number>(queue);
  while (queue.length > 0) {
    const pid = queue.shift();
    if (pid === undefined) break;
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      found.push(child);
      queue.push(child);
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
 * Kills `rootPid` and everything it started, with SIGKILL: stopping a run must not depend on
 * the agent cooperating. Descendants are listed before anything dies, because a killed
 * parent's children are re-parented to init and can no longer be found by walking the tree.
 * `alsoKill` are pids seen earlier (e.g. before a graceful stop) that may have been
 * re-parented since. Repeats a few times to catch processes forked while we were killing.
 * Resolves with the pids it signalled.
 */
export async function killTree(rootPid: number, alsoKill: number[] = []): Promise<number[]> {
  const signalled = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const targets = [rootPid, ...alsoKill, ...listDescendants(rootPid)];
    for (const pid of alsoKill) targets.push(...listDescendants(pid));
    const fresh = targets.filter((pid) => isAlive(pid));
    if (fresh.length === 0) break;
    // SIGSTOP first so nothing forks between listing and killing.
    for (const pid of fresh) signal(pid, "SIGSTOP");
    const more = [...fresh];
    for (const pid of fresh) more.push(...listDescendants(pid));
    for (const pid of more) {
      // A process that leads its own group (the Bash tool's setsid shell) takes its whole
      // group with it, which also reaches members already re-parented away from the tree.
      signal(-pid, "SIGKILL");
      signal(pid, "SIGKILL");
      signalled.add(pid);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return [...signalled];
}
