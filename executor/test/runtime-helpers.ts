// Shared pieces of the Claude runtime tests: a task's folders, a runtime pointed at the fake
// model API, and a look at the processes a task left behind.
import { mkdtempSync, readdirSync, readFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { ProgressEvent } from "@wegent/protocol";
import { createClaudeRuntime } from "../src/runtime/claude/runtime";
import type { ClaudeRuntimeOptions } from "../src/runtime/claude/runtime";
import type { AgentRuntime, RunOutcome, RunRequest } from "../src/runtime/types";
import { removeTree } from "../../e2e/remove-tree";

export const DEVICE_TOKEN = "wegent-device-token-must-not-leak-0123456789";

/** This machine's environment as the executor would see it, pointed at the fake model. */
export function fakeMachineEnv(fakeUrl: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    LANG: "C.UTF-8",
    ANTHROPIC_API_KEY: "test-key-for-the-fake-model",
    ANTHROPIC_BASE_URL: fakeUrl,
    // Offline: no telemetry, update checks or other traffic beyond the model API.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    CLAUDE_CODE_MAX_RETRIES: "0",
    // We run as root here; Claude Code allows bypassPermissions as root only in a sandbox.
    IS_SANDBOX: "1",
    WEGENT_TOKEN: DEVICE_TOKEN,
    WEGENT_BACKEND_URL: "http://127.0.0.1:1",
    SOME_OTHER_SECRET: "not-a-model-setting",
  };
}

const openRuntimes = new Set<AgentRuntime>();

/** A runtime closed by `cleanUp` (its warm Claude Code processes write into the task's HOME). */
export function tracked(runtime: AgentRuntime): AgentRuntime {
  openRuntimes.add(runtime);
  return runtime;
}

export function testRuntime(fakeUrl: string, options: ClaudeRuntimeOptions = {}): AgentRuntime {
  return tracked(createClaudeRuntime({ baseEnv: fakeMachineEnv(fakeUrl), ...options }));
}

/**
 * After a test: stops every runtime's sessions (a warm process still writing session files
 * makes the folder removal fail with ENOTEMPTY), then removes the task folders.
 */
export async function cleanUp(dirs: TaskDirs[]): Promise<void> {
  const runtimes = [...openRuntimes];
  openRuntimes.clear();
  for (const runtime of runtimes) await runtime.closeAll?.();
  for (const d of dirs.splice(0)) d.remove();
}

export interface TaskDirs {
  root: string;
  workspaceDir: string;
  homeDir: string;
  tmpDir: string;
  remove(): void;
}

export function taskDirs(): TaskDirs {
  const root = mkdtempSync(join(tmpdir(), "wegent-runtime-test-"));
  const dirs = {
    root,
    workspaceDir: join(root, "workspace"),
    homeDir: join(root, "home"),
    tmpDir: join(root, "tmp"),
    remove: () => removeTree(root),
  };
  for (const dir of [dirs.workspaceDir, dirs.homeDir, dirs.tmpDir]) mkdirSync(dir);
  return dirs;
}

export function request(
  dirs: TaskDirs,
  prompt: string,
  resumeSessionId: string | null = null,
): RunRequest {
  return {
    taskId: randomUUID(),
    messageId: randomUUID(),
    prompt,
    resumeSessionId,
    workspaceDir: dirs.workspaceDir,
    homeDir: dirs.homeDir,
    tmpDir: dirs.tmpDir,
  };
}

export interface Recorded {
  events: ProgressEvent[];
  outcome: RunOutcome;
  streamedText: string;
}

export async function runAndRecord(
  runtime: AgentRuntime,
  req: RunRequest,
  signal: AbortSignal = new AbortController().signal,
): Promise<Recorded> {
  const events: ProgressEvent[] = [];
  const outcome = await runtime.run(req, (event) => events.push(event), signal);
  return { events, outcome, streamedText: streamedText(events) };
}

export function streamedText(events: ProgressEvent[]): string {
  return events.map((e) => (e.kind === "text" ? e.delta : "")).join("");
}

/** Every text delta starts where the previous ones ended. */
export function offsetsAreConsistent(events: ProgressEvent[]): boolean {
  let length = 0;
  for (const event of events) {
    if (event.kind !== "text") continue;
    if (event.offset !== length) return false;
    length += event.delta.length;
  }
  return true;
}

/**
 * Processes still running with this task's HOME (Claude Code and everything it started get
 * it), with their command lines. Linux: reads /proc.
 */
export function processesOfTask(homeDir: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  const marker = `HOME=${homeDir}\0`;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (!environ.includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue; // reaped soon
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      found.push({ pid: Number(entry), cmd });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

export async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | false,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
