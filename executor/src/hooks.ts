// The pre-execute hook: a program of the device owner's (device-config.json `preExecuteHook`)
// run before each message, for setup, security checks or integration. No shell, stdin closed,
// its own process group; a non-zero exit or the timeout stops the message with `hook_failed`.
import { spawn } from "node:child_process";
import { z } from "zod";
import { killTree } from "./system/process-tree";

export const PreExecuteHook = z.object({
  argv: z.array(z.string().min(1).max(4000)).min(1, "preExecuteHook.argv needs a program").max(100),
  timeoutSec: z.number().positive().max(3600).default(30),
});
export type PreExecuteHook = z.infer<typeof PreExecuteHook>;

export interface HookContext {
  taskId: string;
  workspaceDir: string;
  /** The task's project (id or path), or null for a scratch workspace. */
  project: string | null;
}

export type HookResult = { ok: true } | { ok: false; message: string };

const STDERR_KEEP_CHARS = 8000;
const TAIL_LINES = 20;

function tail(stderr: string): string {
  const lines = stderr.replace(/\s+$/, "").split(/\r?\n/);
  return lines.slice(-TAIL_LINES).join("\n").slice(-2000);
}

/** The hook's environment: the executor's own, minus its secrets, plus the task's. */
function hookEnv(base: NodeJS.ProcessEnv, context: HookContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !name.toUpperCase().startsWith("WEGENT_")) env[name] = value;
  }
  env.WEGENT_TASK_ID = context.taskId;
  env.WEGENT_WORKSPACE = context.workspaceDir;
  env.WEGENT_PROJECT = context.project ?? "";
  return env;
}

export function runPreExecuteHook(
  hook: PreExecuteHook,
  context: HookContext,
  signal?: AbortSignal,
  base: NodeJS.ProcessEnv = process.env,
): Promise<HookResult> {
  const [command, ...args] = hook.argv as [string, ...string[]];
  return new Promise((resolve) => {
    let stderr = "";
    let settled = false;
    const finish = (result: HookResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const child = spawn(command, args, {
      cwd: context.workspaceDir,
      env: hookEnv(base, context),
      stdio: ["ignore", "ignore", "pipe"],
      shell: false,
      detached: process.platform !== "win32",
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP_CHARS);
    });
    const kill = () => {
      if (child.pid !== undefined) void killTree(child.pid);
    };
    const timer = setTimeout(() => {
      kill();
      const said = tail(stderr);
      finish({
        ok: false,
        message: `The pre-execute hook ran past its ${hook.timeoutSec} s timeout and was stopped.${said ? `\n${said}` : ""}`,
      });
    }, hook.timeoutSec * 1000);
    const onAbort = () => {
      kill();
      finish({ ok: false, message: "Cancelled while the pre-execute hook ran." });
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (error) =>
      finish({ ok: false, message: `The pre-execute hook could not start: ${error.message}` }),
    );
    child.once("close", (code, sig) => {
      if (code === 0) return finish({ ok: true });
      const said = tail(stderr);
      const how = code !== null ? `exited with ${code}` : `was killed (${sig ?? "signal"})`;
      finish({ ok: false, message: `The pre-execute hook ${how}.${said ? `\n${said}` : ""}` });
    });
  });
}
