// The Claude Code runtime: runs one message through the Claude Agent SDK, streams its output
// as ProgressEvents, and stops it (with every process it started) when asked.
import type { ChildProcess } from "node:child_process";
import type {
  PermissionMode,
  Query,
  SDKResultMessage,
  SpawnOptions,
  SpawnedProcess,
} from "@anthropic-ai/claude-agent-sdk";
import type { FailureCode, ProgressEvent, Usage } from "@wegent/protocol";
import {
  authOf,
  cloudCredentials,
  credentialsInvalidMessage,
  findCredentials,
  LOCAL_CREDENTIALS_MISSING,
} from "../local/credentials";
import { localAgentEnvironment, type Env } from "../local/environment";
import type { Logger } from "../log";
import { agentEnvironment } from "./claude-env";
import { agentExtraEnv, capabilityOptions, claudeCodePrompt } from "../capabilities/sdk-options";
import type { BaseEnv } from "./claude-env";
import { ReplyStream } from "./claude-events";
import { askOptions, runMode } from "./claude-permissions";
import { checkClaude, findClaudeExecutable } from "./claude-preflight";
import { type AgentLauncher, directLauncher, type LaunchPlan } from "./launcher";
import { killTree, listDescendants, processRef } from "./process-tree";
import { eitherSignal, RunFacts, type Stop, Watchdog, type WatchLimits } from "./claude-watch";
import { describeClaude } from "./claude-describe";
import type { AgentRuntime, RunOutcome, RunRequest } from "./types";

export interface ClaudeRuntimeOptions {
  /**
   * This machine's environment (default `process.env`). Only PATH, LANG and model settings
   * are taken from it; see claude-env.ts.
   */
  baseEnv?: BaseEnv;
  /**
   * Local mode: the owner's own environment (login shell, real HOME; see local/environment.ts).
   * The agent runs with it instead of the sealed one, and a Claude Code login counts as
   * credentials. Never set in cloud mode.
   */
  userEnv?: Env;
  /**
   * The device's mode, default `bypassPermissions`. A message may ask for another mode (the
   * user then approves tool calls from the browser); a device set to ask is never bypassed.
   */
  permissionMode?: PermissionMode;
  /** Model name or alias; default: Claude Code's own default (or ANTHROPIC_MODEL). */
  model?: string;
  /** A Claude Code binary to use instead of the SDK's bundled native one. */
  pathToClaudeCodeExecutable?: string;
  /** Identifies us in Claude Code's User-Agent, e.g. "wegent-executor/0.1.0". */
  clientApp?: string;
  /** How long a graceful interrupt may take before the process tree is killed. */
  interruptGraceMs?: number;
  /**
   * Tests only (the CLI never sets it): watchdog limits instead of the owner's stallSeconds /
   * maxRunMinutes, so a stalled run can be checked in seconds.
   */
  watchLimits?: Partial<WatchLimits>;
  /** Starts the agent: lifeline watcher (local) or sandbox (cloud); default a plain child. */
  launcher?: AgentLauncher;
  log?: Logger;
}

const DEFAULT_INTERRUPT_GRACE_MS = 250;
const STDERR_TAIL_CHARS = 4000;
const EXIT_GRACE_MS = 3000;
const MAX_REMEMBERED_SESSIONS = 1000;

function abortCode(reason: unknown): FailureCode {
  if (reason === "executor_stopped" || reason === "agent_stalled") return reason;
  if (reason === "run_time_exceeded") return reason;
  return "cancelled";
}

function abortMessage(code: FailureCode): string {
  return code === "executor_stopped"
    ? "The executor stopped while the agent was running."
    : "Cancelled by the user.";
}

function usageOf(result: SDKResultMessage): Usage {
  // `usage` covers this message's main agent loop only, whereas modelUsage and the cost
  // carry totals over the resumed session.
  const u = result.usage;
  return {
    inputTokens: u.input_tokens,
    outputTokens: u.output_tokens,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
  };
}

/** Claude's own words for a failed result. */
function errorMessageOf(result: SDKResultMessage): string {
  if (result.subtype === "success") return result.result || "Claude Code reported an error.";
  const errors = result.errors.filter((e) => e.trim() !== "");
  return errors.length > 0 ? errors.join("\n") : `Claude Code stopped: ${result.subtype}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when the process has exited, or after `ms`. */
function exited(proc: ChildProcess, ms: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Claude reports a resumed session's running total cost, not the message's own. We remember
 * each session's last total to tell the message's share; when the total before a resumed
 * message is unknown (e.g. the executor restarted), the message's cost is unknown (null)
 * rather than overstated.
 */
class SessionCosts {
  private readonly totals = new Map<string, number>();

  messageCost(resumed: string | null, sessionId: string | null, total: number): number | null {
    const before = resumed === null ? 0 : this.totals.get(resumed);
    if (sessionId !== null) {
      this.totals.delete(sessionId);
      this.totals.set(sessionId, total);
      // Oldest first in a Map: keep the memory bounded.
      if (this.totals.size > MAX_REMEMBERED_SESSIONS) {
        const oldest = this.totals.keys().next().value;
        if (oldest !== undefined) this.totals.delete(oldest);
      }
    }
    if (before === undefined) return null;
    return Math.max(0, total - before);
  }
}

export function createClaudeRuntime(options: ClaudeRuntimeOptions = {}): AgentRuntime {
  const baseEnv = options.baseEnv ?? process.env;
  const permissionMode = options.permissionMode ?? "bypassPermissions";
  const clientApp = options.clientApp ?? "wegent-executor";
  const interruptGraceMs = options.interruptGraceMs ?? DEFAULT_INTERRUPT_GRACE_MS;
  const log = options.log;
  const sessionCosts = new SessionCosts();

  const userEnv = options.userEnv;

  function preflightNow(projectDir?: string) {
    if (userEnv && findCredentials(userEnv, projectDir ? { projectDir } : {}) === null) {
      return { code: "credentials_missing" as const, message: LOCAL_CREDENTIALS_MISSING };
    }
    return checkClaude({
      baseEnv: userEnv ?? baseEnv,
      credentialsChecked: userEnv !== undefined,
      permissionMode,
      executable: findClaudeExecutable(options.pathToClaudeCodeExecutable),
      ...(options.pathToClaudeCodeExecutable
        ? { configuredExecutable: options.pathToClaudeCodeExecutable }
        : {}),
    });
  }

  const launcher = options.launcher ?? directLauncher;

  async function run(
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    const plan = await launcher.prepare(request);
    try {
      return await runPlanned(request, plan, onEvent, signal);
    } finally {
      await plan.dispose();
    }
  }

  async function runPlanned(
    request: RunRequest,
    plan: LaunchPlan,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    const sessionId: string | null = request.resumeSessionId;
    if (signal.aborted) {
      const code = abortCode(signal.reason);
      return { ok: false, code, message: abortMessage(code), text: "", sessionId };
    }
    const problem = preflightNow(request.workspaceDir);
    if (problem) return { ok: false, ...problem, text: "", sessionId };
    // The watchdog (stallSeconds / maxRunMinutes) and what else the run tells besides the reply.
    const runtimeSettings = request.capabilities?.runtime;
    let stop: Stop | null = null;
    const watchStop = new AbortController();
    const watch = new Watchdog(
      {
        stallMs: options.watchLimits?.stallMs ?? (runtimeSettings?.stallSeconds ?? 600) * 1000,
        maxRunMs:
          options.watchLimits?.maxRunMs ??
          (runtimeSettings?.maxRunMinutes ? runtimeSettings.maxRunMinutes * 60_000 : null),
      },
      (s) => {
        stop = s;
        log?.warn("claude run stopped by the watchdog", { taskId: request.taskId, code: s.code });
        watchStop.abort(s.code);
      },
    );
    const facts = new RunFacts((event) => {
      try {
        onEvent(event);
      } catch {
        // A failing listener must not break the run.
      }
    });
    const ask = request.ask;
    const watched: RunRequest = ask
      ? {
          ...request,
          ask: (question, askSignal) => {
            watch.waiting(true);
            return ask(question, askSignal).finally(() => watch.waiting(false));
          },
        }
      : request;
    try {
      return await runWatched(watched, plan, onEvent, eitherSignal(signal, watchStop.signal), {
        watch,
        facts,
        stop: () => stop,
      });
    } finally {
      watch.dispose();
    }
  }

  async function runWatched(
    request: RunRequest,
    plan: LaunchPlan,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
    watching: { watch: Watchdog; facts: RunFacts; stop: () => Stop | null },
  ): Promise<RunOutcome> {
    const { watch, facts } = watching;
    let sessionId: string | null = request.resumeSessionId;
    const reply = new ReplyStream((event) => {
      try {
        onEvent(event);
      } catch {
        // A failing listener must not break the run.
      }
    });
    const executable = findClaudeExecutable(options.pathToClaudeCodeExecutable);

    const sdkAbort = new AbortController();
    let child: ChildProcess | null = null;
    let stderrTail = "";
    // Own spawn, so we know Claude's pid and can kill everything under it.
    const spawnClaude = (spawnOptions: SpawnOptions): SpawnedProcess => {
      // In its own process group: where we cannot walk the tree, killing the group still
      // reaches what it started.
      const proc = plan.spawn(
        spawnOptions.command,
        spawnOptions.args,
        spawnOptions.cwd,
        spawnOptions.env,
      );
      child = proc;
      proc.stderr.on("data", (chunk: Buffer) => {
        watch.output();
        stderrTail = (stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS);
      });
      // The SDK's own last resort after its graceful close.
      spawnOptions.signal.addEventListener("abort", () => {
        if (proc.pid !== undefined) void killTree(proc.pid);
      });
      return proc;
    };

    let q: Query;
    try {
      // Loaded on the first task, not at start: an idle executor stays small.
      const { query } = await import("@anthropic-ai/claude-agent-sdk");
      const caps = request.capabilities;
      // The message's mode, else the user's default, else the device's flag (a floor).
      const mode = runMode(request, permissionMode);
      q = query({
        prompt: request.prompt,
        options: {
          cwd: request.workspaceDir,
          // Local: the owner's login-shell environment, plus the variables the owner listed in
          // agentEnv taken from the executor's own environment (set where it was started).
          env: userEnv
            ? localAgentEnvironment(
                { ...userEnv, ...agentExtraEnv(caps, baseEnv) },
                clientApp,
                request.tmpDir,
              )
            : { ...agentExtraEnv(caps, baseEnv), ...agentEnvironment(baseEnv, request, clientApp) },
          includePartialMessages: true,
          permissionMode: mode,
          allowDangerouslySkipPermissions: mode === "bypassPermissions",
          // Whoever watches the task answers, in every mode (see askOptions).
          ...askOptions(request),
          // Claude Code's own prompt; the owner's appended text comes with capabilityOptions.
          systemPrompt: claudeCodePrompt(),
          abortController: sdkAbort,
          spawnClaudeCodeProcess: spawnClaude,
          ...(executable ? { pathToClaudeCodeExecutable: executable } : {}),
          ...(options.model ? { model: options.model } : {}),
          ...(request.resumeSessionId ? { resume: request.resumeSessionId } : {}),
          // Managed skills (a plugin folder), MCP servers, model, max turns, appended prompt.
          ...capabilityOptions(caps, userEnv ?? baseEnv),
        },
      });
    } catch (error) {
      return {
        ok: false,
        code: "agent_error",
        message: `Claude Code could not start: ${String(error)}`,
        text: "",
        sessionId,
      };
    }

    let stopping: FailureCode | null = null;
    let resolveStopped: (outcome: RunOutcome) => void = () => undefined;
    const stopped = new Promise<RunOutcome>((resolve) => (resolveStopped = resolve));
    const onAbort = () => {
      const code = abortCode(signal.reason);
      stopping = code;
      const startedAt = Date.now();
      void (async () => {
        const pid = (child as ChildProcess | null)?.pid;
        // Listed before anything dies: killed parents' children get re-parented. The root is
        // remembered with its start time too: it may exit (and its pid be reused) meanwhile.
        const root = pid === undefined ? undefined : processRef(pid);
        const seen = root === undefined ? [] : listDescendants(root);
        // A graceful interrupt first lets Claude record the interruption in its session,
        // so a follow-up message resumes cleanly; the kill below does not depend on it.
        await Promise.race([q.interrupt().catch(() => undefined), sleep(interruptGraceMs)]);
        sdkAbort.abort();
        const killed = root === undefined ? [] : await killTree(root, seen);
        log?.debug("claude run stopped", {
          taskId: request.taskId,
          code,
          ms: Date.now() - startedAt,
          killed: killed.length,
        });
        resolveStopped({
          ok: false,
          code,
          message: watching.stop()?.message ?? abortMessage(code),
          text: reply.text,
          sessionId,
        });
      })();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });

    const finished = (async (): Promise<RunOutcome> => {
      let result: SDKResultMessage | null = null;
      let thrown: unknown = null;
      try {
        for await (const message of q) {
          if (stopping) break;
          watch.output();
          facts.handle(message);
          if ("session_id" in message && typeof message.session_id === "string") {
            sessionId = message.session_id;
          }
          if (message.type === "result") {
            result = message;
            continue;
          }
          reply.handle(message);
        }
      } catch (error) {
        // The SDK throws after an error result; the result itself says what went wrong.
        thrown = error;
      }
      if (result && result.subtype === "success" && !result.is_error) {
        reply.ensureText(result.result);
        return {
          ok: true,
          text: reply.text,
          sessionId,
          usage: facts.usage(usageOf(result), result),
          costUsd: sessionCosts.messageCost(
            request.resumeSessionId,
            sessionId,
            result.total_cost_usd,
          ),
        };
      }
      const message = result
        ? errorMessageOf(result)
        : `Claude Code ended without a result: ${thrown instanceof Error ? thrown.message : String(thrown)}${stderrTail.trim() ? `\n${stderrTail.trim()}` : ""}`;
      if (facts.refusedBy(result, stderrTail)) {
        const source = userEnv
          ? findCredentials(userEnv, { projectDir: request.workspaceDir })
          : null;
        return {
          ok: false,
          code: "credentials_invalid",
          message: credentialsInvalidMessage(
            authOf(source ?? cloudCredentials(baseEnv)),
            facts.authFailure ?? message,
            userEnv !== undefined,
          ),
          text: reply.text,
          sessionId,
        };
      }
      return { ok: false, code: "agent_error", message, text: reply.text, sessionId };
    })();

    const outcome = await Promise.race([stopped, finished]);
    if (stopping) return stopped;
    signal.removeEventListener("abort", onAbort);
    // Finished by itself: nothing it started may outlive the message (e.g. a command the
    // agent put in the background). Claude itself gets time to exit on its own first: it may
    // still be writing its session file, which the next message resumes from.
    const proc = child as ChildProcess | null;
    if (proc?.pid !== undefined) {
      const root = processRef(proc.pid);
      const seen = listDescendants(root);
      await exited(proc, EXIT_GRACE_MS);
      await killTree(root, seen);
    }
    if (!outcome.ok)
      log?.debug("claude run failed", { taskId: request.taskId, stderr: stderrTail });
    // The launcher stopped the run itself (a cloud task over its limits): say why.
    const stoppedBy = plan.stopReason?.() ?? null;
    if (!outcome.ok && stoppedBy) return { ...outcome, code: "agent_error", message: stoppedBy };
    return outcome;
  }

  return {
    name: "claude-code",
    preflight: (projectDir?: string) => Promise.resolve(preflightNow(projectDir)),
    describe: () =>
      describeClaude({
        executable: findClaudeExecutable(options.pathToClaudeCodeExecutable),
        auth: authOf(userEnv ? findCredentials(userEnv) : cloudCredentials(baseEnv)),
        problem: preflightNow(),
      }),
    run: (request, onEvent, signal) =>
      run(request, onEvent, signal).catch((error: unknown): RunOutcome => ({
        ok: false,
        code: "internal_error",
        message: `The Claude Code runtime failed: ${String(error)}`,
        text: "",
        sessionId: request.resumeSessionId,
      })),
  };
}
