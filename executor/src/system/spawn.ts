// Runs one argv with no shell, stdin closed, in its own process group, with a timeout and
// output caps. The result is what the command RPC answers with.
import { spawn } from "node:child_process";
import type { CommandResult } from "@wegent/protocol";
import { killTree } from "./process-tree";

export interface SpawnLimits {
  timeoutMs: number;
  /** Cap for stdout and for stderr, each, in bytes. */
  maxOutputBytes: number;
}

export interface SpawnRequest extends SpawnLimits {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** After the group is killed, how long to wait for its pipes to close before giving up on them. */
const DRAIN_AFTER_KILL_MS = 1000;

/** Collects a stream up to `cap` bytes; counts (and drops) the rest. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;
  total = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap - this.kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.kept += room;
      this.truncated = true;
      return;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface RawResult {
  exitCode: number | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

/** Never rejects: a command that cannot start answers exit code null and says why on stderr. */
export async function runArgv(request: SpawnRequest): Promise<CommandResult> {
  const raw = await spawnCapture(request);
  // A multi-byte character cut at the cap decodes as U+FFFD; `truncated` says it was cut.
  return { ...raw, stdout: raw.stdout.toString("utf8"), stderr: raw.stderr.toString("utf8") };
}

/** Like runArgv, with the output as bytes; `input` (if any) is written to stdin, then closed. */
export function spawnCapture(request: SpawnRequest & { input?: Buffer }): Promise<RawResult> {
  const started = performance.now();
  const [file, ...args] = request.argv;
  const stdout = new Capture(request.maxOutputBytes);
  const stderr = new Capture(request.maxOutputBytes);
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    let exitCode: number | null = null;
    let drainTimer: NodeJS.Timeout | null = null;

    const finish = (spawnError?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (drainTimer) clearTimeout(drainTimer);
      if (spawnError) stderr.push(Buffer.from(spawnError));
      resolve({
        exitCode,
        stdout: stdout.bytes(),
        stderr: stderr.bytes(),
        timedOut,
        truncated: stdout.truncated || stderr.truncated,
        durationMs: Math.round(performance.now() - started),
      });
    };

    if (file === undefined) {
      finish("empty argv");
      return;
    }
    const child = spawn(file, args, {
      cwd: request.cwd,
      env: request.env,
      shell: false,
      // Own process group: the timeout kills the command and everything it started.
      detached: true,
      stdio: [request.input ? "pipe" : "ignore", "pipe", "pipe"],
      windowsHide: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      void killGroup(child.pid);
      // A grandchild that escaped the group could hold the pipes open: stop waiting for them.
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, DRAIN_AFTER_KILL_MS);
    }, request.timeoutMs);

    if (request.input) child.stdin?.end(request.input);
    child.stdin?.on("error", () => {});
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error) => finish(`cannot start ${file}: ${error.message}`));
    child.on("exit", (code) => {
      exitCode = code;
    });
    child.on("close", (code) => {
      exitCode = code ?? exitCode;
      finish();
    });
  });
}

async function killGroup(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  // Descendants are listed before anything dies (a killed parent's children are re-parented
  // and cannot be found any more); killTree also kills each one's process group.
  await killTree(pid);
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
}
