// The executor's one git runner: git as a child process (argv, no shell, its own process group,
// a timeout and output caps), hardened against a planted hook or fsmonitor. Two answers: `git`
// throws a CommandError on failure (the workspace commands), `gitOut` answers `{ ok, out }`
// (the owner's projects and the task worktrees, run with the owner's own git environment).
import { gitArgv } from "./git-bin";
import { spawnCapture } from "./spawn";

export class CommandError extends Error {
  constructor(
    readonly code: "invalid_args" | "task_not_found" | "path_outside" | "failed",
    message: string,
  ) {
    super(message);
  }
}

const GIT_TIMEOUT_MS = 30_000;

/**
 * Settings for every git the executor runs in a folder an agent could have written: a planted
 * `core.fsmonitor` or hook would otherwise run as the executor, outside the agent's sandbox.
 */
export const GIT_HARDENING = [
  "-c",
  "core.fsmonitor=false",
  "-c",
  "core.hooksPath=/dev/null",
] as const;

/**
 * For git over a folder the agent wrote, with the executor's own git dir (the baseline): no
 * configuration at all but that git dir's own (no global, XDG or system config, no attributes
 * file beyond the folder's `.gitattributes`). A `.gitattributes` may still name a filter or
 * diff driver, but nothing defines one, so git runs none. Comes after the caller's settings.
 */
const ISOLATED_CONFIG = ["-c", "core.attributesFile=/dev/null"] as const;
const ISOLATED_ENV = {
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_ATTR_NOSYSTEM: "1",
} as const;

/** The environment git runs with: no prompts, no optional locks, no inherited repo overrides. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("GIT_")) env[name] = value;
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: "0",
    GIT_OPTIONAL_LOCKS: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    LC_ALL: "C",
    ...extra,
  };
}

export interface GitOptions {
  cwd: string;
  env?: Record<string, string>;
  input?: Buffer;
  maxBytes?: number;
  /** Exit codes that are not failures (e.g. 1 for `cat-file -e`). */
  allow?: number[];
  /** No configuration but the git dir's own (ISOLATED_CONFIG): for the executor's baseline. */
  isolated?: boolean;
}

interface GitRun {
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxBytes: number;
  input?: Buffer;
}

/** Every git the executor runs goes through here: hooks and fsmonitor off, no shell. */
function runGit(run: GitRun) {
  return spawnCapture({
    argv: gitArgv([...GIT_HARDENING, ...run.args]),
    cwd: run.cwd,
    env: run.env,
    timeoutMs: run.timeoutMs,
    maxOutputBytes: run.maxBytes,
    input: run.input,
  });
}

export async function git(
  args: string[],
  options: GitOptions,
): Promise<{ code: number; stdout: Buffer; truncated: boolean }> {
  const result = await runGit({
    args: ["-c", "core.quotepath=off", ...(options.isolated ? ISOLATED_CONFIG : []), ...args],
    cwd: options.cwd,
    env: gitEnv({ ...options.env, ...(options.isolated ? ISOLATED_ENV : {}) }),
    timeoutMs: GIT_TIMEOUT_MS,
    maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
    input: options.input,
  });
  const code = result.exitCode ?? -1;
  if (code !== 0 && !(options.allow ?? []).includes(code)) {
    const why = result.timedOut ? "timed out" : result.stderr.toString("utf8").trim();
    throw new CommandError("failed", `git ${args[0] ?? ""} failed: ${why.slice(0, 500)}`);
  }
  return { code, stdout: result.stdout, truncated: result.truncated };
}

const GIT_OUT_TIMEOUT_MS = 5_000;

/**
 * git in the owner's projects and the tasks' worktrees, without touching the user's index (no
 * optional locks) and without prompts, with the owner's own git environment and configuration
 * (their system config and GIT_* variables kept). Never rejects: `ok` false and `out` says why.
 */
export async function gitOut(args: string[], cwd: string): Promise<{ ok: boolean; out: string }> {
  const result = await runGit({
    args,
    cwd,
    env: { ...process.env, GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" },
    timeoutMs: GIT_OUT_TIMEOUT_MS,
    maxBytes: 4 * 1024 * 1024,
  });
  const ok = result.exitCode === 0 && !result.timedOut && !result.truncated;
  if (ok) return { ok, out: result.stdout.toString("utf8") };
  const why = result.timedOut
    ? "timed out"
    : result.truncated
      ? "output too large"
      : `exit code ${result.exitCode ?? "none"}`;
  return { ok, out: result.stderr.toString("utf8") || why };
}
