import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, killTree, listDescendants } from "../src/system/process-tree";

// A pid is only a number: between listing a tree and signalling it (claude.ts waits seconds for
// a graceful interrupt in between) a listed process may end and the kernel may give its pid to
// an unrelated process. The kill must check each pid's start time and spare the newcomer.

const NS_LAST_PID = "/proc/sys/kernel/ns_last_pid";
const canSteerPids = (() => {
  try {
    accessSync(NS_LAST_PID, constants.W_OK);
    return process.platform === "linux";
  } catch {
    return false;
  }
})();

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | null | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

/** Starts an unrelated process that gets exactly `pid` (steering the kernel's next pid). */
async function processWithPid(pid: number): Promise<ChildProcess | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawn("sleep", ["120"], { stdio: "ignore" });
    started.push(child);
    if (child.pid === pid) return child;
    child.kill("SIGKILL");
    await sleep(5);
  }
  return null; // the machine is so busy another process took it every time
}

describe("killing a process tree: pids that were reused", () => {
  it.runIf(canSteerPids)(
    "spares an unrelated process that got a listed pid after it ended",
    async () => {
      // The agent's shell and a command it started in the background.
      const agent = spawn("sh", ["-c", "sleep 300 & wait"], { stdio: "ignore" });
      started.push(agent);
      const seen = await until("the background command", () => {
        const found = listDescendants(agent.pid!);
        return found.length >= 1 ? found : null;
      });
      const first = seen[0]!;
      const listedPid = typeof first === "number" ? first : first.pid;
      // The command ends (and is reaped by its shell, which ends too) ...
      process.kill(listedPid, "SIGKILL");
      await until("the agent to end", () => agent.exitCode !== null || agent.signalCode !== null);
      await until("the listed pid to be free", () => state(listedPid) === null);
      // ... and the kernel gives its pid to someone else's process.
      const victim = await processWithPid(listedPid);
      expect(victim, "could not steer the next pid").not.toBeNull();
      expect(isAlive(listedPid)).toBe(true);

      // Stopping the run: kill what was listed before.
      const signalled = await killTree(agent.pid!, seen);
      await sleep(100);
      expect(signalled).not.toContain(listedPid);
      expect(state(listedPid)).toMatch(/^[SR]$/); // alive, not stopped (T) nor killed
      expect(victim!.exitCode).toBeNull();
      expect(victim!.signalCode).toBeNull();
    },
    60_000,
  );

  it.runIf(process.platform === "linux")(
    "still kills every listed process that is the same one",
    async () => {
      const agent = spawn("sh", ["-c", "sleep 300 & sleep 301 & wait"], { stdio: "ignore" });
      started.push(agent);
      const seen = await until("both commands", () => {
        const found = listDescendants(agent.pid!);
        return found.length >= 2 ? found : null;
      });
      const pids = seen.map((ref) => ref.pid);
      await killTree(agent.pid!, seen);
      await until("all gone", () => pids.every((pid) => !isAlive(pid) || state(pid) === "Z"));
    },
    30_000,
  );
});
