// Removes secrets from what other processes can read about this one. On Linux,
// /proc/<pid>/environ and /proc/<pid>/cmdline show the memory the process started with, and
// `delete process.env.X` does not change it: any process of the same user (a prompt-injected
// agent walking its parents) could read a token passed by environment or argument. The kernel
// lets a process write its own memory through /proc/self/mem, so we overwrite every copy of
// the secret in the argument and environment areas in place (same length, `*`), then check.
import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs";

export type ScrubResult = "scrubbed" | "not-needed" | "unsupported" | "failed";

/** Fields 48–51 of /proc/self/stat: arg_start, arg_end, env_start, env_end (Linux >= 3.5). */
function argAndEnvAreas(): [number, number][] | null {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // "pid (comm) state ..." — comm may hold spaces; the fields after it start at field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const at = (n: number) => Number(fields[n - 3]);
  const areas: [number, number][] = [
    [at(48), at(49)],
    [at(50), at(51)],
  ];
  return areas.every(([s, e]) => Number.isSafeInteger(s) && Number.isSafeInteger(e) && e > s)
    ? areas
    : null;
}

function visible(secrets: readonly string[]): boolean {
  const environ = readFileSync("/proc/self/environ");
  const cmdline = readFileSync("/proc/self/cmdline");
  return secrets.some((s) => environ.includes(s) || cmdline.includes(s));
}

/**
 * Overwrites `secrets` (each >= 8 bytes) in this process's /proc environ and cmdline.
 * Read every value you need before calling: `process.env` reads the same memory afterwards.
 */
export function scrubProcessSecrets(secrets: readonly string[]): ScrubResult {
  const wanted = secrets.filter((s) => Buffer.byteLength(s) >= 8);
  if (process.platform !== "linux") return wanted.length ? "unsupported" : "not-needed";
  try {
    if (wanted.length === 0 || !visible(wanted)) return "not-needed";
    const areas = argAndEnvAreas();
    if (!areas) return "failed";
    const fd = openSync("/proc/self/mem", "r+");
    try {
      for (const [start, end] of areas) {
        const buf = Buffer.alloc(end - start);
        readSync(fd, buf, 0, buf.length, start);
        let changed = false;
        for (const secret of wanted) {
          const needle = Buffer.from(secret);
          for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + needle.length)) {
            buf.fill(0x2a, i, i + needle.length);
            changed = true;
          }
        }
        if (changed) writeSync(fd, buf, 0, buf.length, start);
      }
    } finally {
      closeSync(fd);
    }
    return visible(wanted) ? "failed" : "scrubbed";
  } catch {
    return "failed";
  }
}

export interface ExposedIn {
  pid: number;
  where: "cmdline" | "environ";
  /** The ancestor's program (its argv[0] up to a space); never the secret. */
  command: string;
}

/**
 * Ancestors of `pid` (not `pid` itself) whose /proc cmdline or environ still shows a secret:
 * a launcher such as `npx … --token X` or `npm run … -- --token X` keeps its own copy (`npm
 * exec`, `sh -c`) for the executor's whole life, and a cmdline is readable by every user.
 */
export function ancestorsShowing(secrets: readonly string[], pid = process.pid): ExposedIn[] {
  const wanted = secrets.filter((s) => Buffer.byteLength(s) >= 8).map((s) => Buffer.from(s));
  const found: ExposedIn[] = [];
  if (process.platform !== "linux" || wanted.length === 0) return found;
  const read = (path: string): Buffer | null => {
    try {
      return readFileSync(path);
    } catch {
      return null;
    }
  };
  const seen = new Set<number>();
  for (let at = parentOf(pid); at !== null && at > 1 && !seen.has(at); at = parentOf(at)) {
    seen.add(at);
    const cmdline = read(`/proc/${at}/cmdline`);
    // The program's name only: a launcher that set its title (npm) has the token after a space.
    const command = (cmdline?.toString().split(/[\0 ]/)[0] ?? "").slice(0, 100);
    for (const where of ["cmdline", "environ"] as const) {
      const area = where === "cmdline" ? cmdline : read(`/proc/${at}/environ`);
      if (area && wanted.some((s) => area.includes(s))) found.push({ pid: at, where, command });
    }
  }
  return found;
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isSafeInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}
