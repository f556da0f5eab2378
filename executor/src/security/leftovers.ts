// Agents must not outlive their executor. Every agent process carries a marker in its
// environment, `WEGENT_AGENT=<run>.<n>` (not a secret: it only names the executor run), and
// the executor records its run in `<home>/executor-run.json`. An executor that starts reads
// the record of the previous run; if that executor is gone (its pid is dead, or now belongs
// to another program: the start time in /proc/<pid>/stat differs), every process still
// carrying the previous run's marker is a leftover and is killed.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const RECORD = "executor-run.json";
const Record = z.object({
  run: z.string().regex(/^[a-f0-9]{16}$/),
  pid: z.number().int(),
  startTime: z.string(),
});

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; null when gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Pids (not ours) whose environment holds `WEGENT_AGENT=<prefix>…`. Linux only. */
export function markedProcesses(prefix: string): number[] {
  if (process.platform !== "linux") return [];
  const needle = Buffer.from(`\0WEGENT_AGENT=${prefix}`);
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`)]);
      if (environ.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

function kill(pids: number[]): void {
  for (const pid of pids) trySignal(pid, "SIGSTOP");
  for (const pid of pids) trySignal(pid, "SIGKILL");
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export interface RunRecord {
  /** This run's id; markers are `<run>.<n>`. */
  run: string;
  nextMarker(): string;
  /** Leftovers of the previous run that were killed at start. */
  swept: number;
  /** A previous executor on this home is still running (nothing was swept). */
  previousAlive: boolean;
}

/** Sweeps the previous run's leftovers, then records this run. */
export async function startRun(homeDir: string): Promise<RunRecord> {
  const path = join(homeDir, RECORD);
  let swept = 0;
  let previousAlive = false;
  let previous: z.infer<typeof Record> | null = null;
  try {
    const parsed = Record.safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (parsed.success) previous = parsed.data;
  } catch {
    // First start, or an unreadable record: nothing to sweep.
  }
  if (previous && previous.pid !== process.pid) {
    const start = processStartTime(previous.pid);
    previousAlive = start !== null && start === previous.startTime;
    if (!previousAlive) {
      const seen = new Set<number>();
      for (let round = 0; round < 4; round++) {
        const pids = markedProcesses(`${previous.run}.`);
        if (pids.length === 0) break;
        for (const pid of pids) seen.add(pid);
        kill(pids);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      swept = seen.size;
    }
  }
  const run = randomBytes(8).toString("hex");
  const tmp = `${path}.tmp`;
  writeFileSync(
    tmp,
    JSON.stringify({ run, pid: process.pid, startTime: processStartTime(process.pid) ?? "" }),
    { mode: 0o600 },
  );
  renameSync(tmp, path);
  let n = 0;
  return { run, nextMarker: () => `${run}.${++n}`, swept, previousAlive };
}
