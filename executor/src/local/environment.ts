// Local mode: the agent works as the machine's owner would, with the owner's login-shell
// environment, real HOME and Claude Code config. Captured once at start, with a time limit.
import { spawn } from "node:child_process";
import { homedir } from "node:os";

export type Env = Record<string, string>;

const MARKER = "__WEGENT_LOGIN_ENV__";
export const DEFAULT_CAPTURE_TIMEOUT_MS = 5_000;
/** A login shell that prints megabytes is not an environment we want. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** Shell bookkeeping that describes the capturing shell, not the user's environment. */
const SHELL_NOISE = new Set(["PWD", "OLDPWD", "SHLVL", "_"]);

/** Never passed to an agent, whatever the user's shell exports. */
export function isExecutorSecret(name: string): boolean {
  return name.startsWith("WEGENT_");
}

export function withoutExecutorSecrets(env: Readonly<Record<string, string | undefined>>): Env {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isExecutorSecret(name)) out[name] = value;
  }
  return out;
}

/**
 * The executor's own tracing settings (OTEL_*: its endpoint, and the OTLP key in
 * OTEL_EXPORTER_OTLP_HEADERS). The login shell does not start with them, so the agent gets
 * only what the owner's shell itself sets: the key stays out of the agent's reach (as in cloud
 * mode), and Claude Code does not start ~0.2-0.4 s slower per message, which it does with an
 * OTLP endpoint in its environment even with its telemetry off (docs/observability.md). Claude
 * Code's own telemetry is passed on purpose by telemetry/claude-env.ts.
 */
export function isExecutorTracingSetting(name: string): boolean {
  return name.startsWith("OTEL_");
}

export interface CapturedEnvironment {
  env: Env;
  /** "login shell /bin/zsh" or "the executor's own environment (<why>)". */
  source: string;
}

/**
 * Runs the user's shell as an interactive login shell (as a terminal would) and reads the
 * environment it ends up with. Falls back to the executor's own environment when there is no
 * shell, it fails, or it takes longer than `timeoutMs`.
 */
export async function captureLoginEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  options: { timeoutMs?: number; shell?: string } = {},
): Promise<CapturedEnvironment> {
  const own = withoutExecutorSecrets(base);
  for (const name of Object.keys(own)) if (isExecutorTracingSetting(name)) delete own[name];
  if (own.HOME === undefined) own.HOME = homedir();
  const shell = options.shell ?? base.SHELL ?? (process.platform === "win32" ? "" : "/bin/sh");
  const fallback = (why: string): CapturedEnvironment => ({
    env: own,
    source: `the executor's own environment (${why})`,
  });
  if (!shell) return fallback("no login shell");
  const timeoutMs = options.timeoutMs ?? DEFAULT_CAPTURE_TIMEOUT_MS;
  const script = `printf '\\000${MARKER}\\000'; env -0`;
  // `-i` is what reads ~/.zshrc / ~/.bashrc, where most people set PATH and friends.
  const args = shell.endsWith("/sh") ? ["-l", "-c", script] : ["-i", "-l", "-c", script];
  const output = await new Promise<Buffer | string>((resolve) => {
    let child;
    try {
      child = spawn(shell, args, {
        env: own,
        cwd: own.HOME,
        stdio: ["ignore", "pipe", "ignore"],
        detached: process.platform !== "win32",
      });
    } catch (error) {
      resolve(`cannot start ${shell}: ${String(error)}`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      kill(child.pid);
      resolve(`${shell} took longer than ${timeoutMs} ms`);
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        kill(child.pid);
        return;
      }
      chunks.push(chunk);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve(`cannot start ${shell}: ${error.message}`);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? Buffer.concat(chunks) : `${shell} exited with ${code}`);
    });
  });
  if (typeof output === "string") return fallback(output);
  const parsed = parseEnvOutput(output.toString("utf8"));
  if (!parsed) return fallback(`${shell} printed no environment`);
  const env = withoutExecutorSecrets(parsed);
  for (const name of SHELL_NOISE) delete env[name];
  if (env.HOME === undefined) env.HOME = own.HOME;
  return { env, source: `login shell ${shell}` };
}

/** The `env -0` output after our marker (whatever the shell's startup files printed before). */
export function parseEnvOutput(output: string): Env | null {
  const start = output.lastIndexOf(`\0${MARKER}\0`);
  if (start < 0) return null;
  const env: Env = {};
  for (const entry of output.slice(start + MARKER.length + 2).split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return Object.keys(env).length > 0 ? env : null;
}

/**
 * What a local agent runs with: the user's environment (real HOME included), no executor
 * secrets, our User-Agent tag, and the task's own TMPDIR (temp files of parallel tasks apart,
 * and the executor can tell its agents' processes by it).
 */
export function localAgentEnvironment(userEnv: Env, clientApp: string, tmpDir?: string): Env {
  const env = withoutExecutorSecrets(userEnv);
  env.CLAUDE_AGENT_SDK_CLIENT_APP = clientApp;
  if (tmpDir !== undefined) env.TMPDIR = tmpDir;
  return env;
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(process.platform === "win32" ? pid : -pid, "SIGKILL");
  } catch {
    // already gone
  }
}
