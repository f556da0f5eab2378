// git as the executor runs it: by an absolute path found once on PATH (an empty or relative
// PATH entry would run a `./git` the agent left in its folder), and on Linux under an
// address-space limit, so a repo planted to make git read without end (a ref that is a link
// to /dev/zero) fails with "out of memory" instead of eating the machine.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** Default cap on git's address space, in KiB (2 GiB). */
export const GIT_MEMORY_LIMIT_KB = 2 * 1024 * 1024;

let memoryKb = GIT_MEMORY_LIMIT_KB;
let found: string | undefined;

/** Changes the cap (tests use a small one). */
export function setGitMemoryLimitKb(kb: number): void {
  memoryKb = Math.max(1024, Math.floor(kb));
}

/** The first `git` in an absolute PATH entry (looked up once); /usr/bin/git if none. */
export function gitPath(): string {
  if (found !== undefined) return found;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const file = join(dir, "git");
    try {
      accessSync(file, constants.X_OK);
      if (!statSync(file).isFile()) continue;
      found = file;
      return file;
    } catch {
      // not here
    }
  }
  // Not found: an absolute path still (spawning it fails), never a name looked up in `cwd`.
  return "/usr/bin/git";
}

/**
 * Keeps ordinary work well inside the cap: pack files mapped in small windows, and few malloc
 * arenas (each thread's arena reserves 64 MiB of address space).
 */
const WITHIN_CAP = ["-c", "core.packedGitWindowSize=64m", "-c", "core.packedGitLimit=512m"];

/** The argv that runs git with `args`: capped through `/bin/sh -c 'ulimit -v …'` on Linux. */
export function gitArgv(args: readonly string[]): string[] {
  if (process.platform !== "linux") return [gitPath(), ...args];
  const script = `ulimit -v ${memoryKb} && MALLOC_ARENA_MAX=2 && export MALLOC_ARENA_MAX && exec "$@"`;
  return ["/bin/sh", "-c", script, "sh", gitPath(), ...WITHIN_CAP, ...args];
}
