// The Claude Code runtime: runs one message through the Claude Agent SDK, streams its output
// as ProgressEvents, and stops it (with every process it started) when asked. A task's session
// lives on between messages (session.ts); each reply is watched on its own (stall and
// run-time limits, watch.ts): a warm session idle between replies is not a run.
import type {
  PermissionMode,
  SDKResultMessage,
  SpawnOptions,
  SpawnedProcess,
} from "@anthropic-ai/claude-agent-sdk";
import type { FailureCode, ProgressEvent, RuntimeOffers } from "@wegent/protocol";
import {
  authOf,
  cloudCredentials,
  credentialsInvalidMessage,
  findCredentials,
  LOCAL_CREDENTIALS_MISSING,
} from "../../local/credentials";
import { localAgentEnvironment, type Env } from "../../local/environment";
import type { Logger } from "../../log";
import { agentEnvironment } from "./env";
import { claudeTelemetryEnv } from "../../telemetry/claude-env";
import { agentExtraEnv, capabilityOptions, claudeCodePrompt } from "../../capabilities/sdk-options";
import type { BaseEnv } from "./env";
import { askOptions, runMode } from "./permissions";
import { checkClaude, findClaudeExecutable } from "./preflight";
import { LiveSession, Reply } from "./session";
import { learnOffers, sessionKey } from "./offers";
import { readLatestPlan } from "./plan";
import { type AgentLauncher, directLauncher } from "../launcher";
import { killTree } from "../../system/process-tree";
import { eitherSignal, RunFacts, type Stop, Watchdog, type WatchLimits } from "./watch";
import { watchedAsks } from "../watchdog";
import { describeClaude } from "./describe";
import type { AgentRuntime, RunOutcome, RunRequest } from "../types";

export interface ClaudeRuntimeOptions {
  /**
   * This machine's environment (default `process.env`). Only PATH, LANG and model settings
   * are taken from it; see env.ts.
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
  /** Most live Claude Code processes (running or warm); the device's slot count. */
  maxSessions?: number;
  /**
   * Keep a session's process warm after a reply (default true). The cloud pool does not: a warm
   * process would keep its tenant's sandbox, folders and model secret alive past the reply.
   */
  keepWarm?: boolean;
  /**
   * Told what Claude Code offers (models, slash commands) whenever a session starts; the
   * executor puts them into the claude-code entry of the device's runtimes.
   */
  onOffers?: (offers: RuntimeOffers) => void;
}

const DEFAULT_INTERRUPT_GRACE_MS = 250;
const STDERR_TAIL_CHARS = 4000;
const EXIT_GRACE_MS = 3000;
const MAX_REMEMBERED_SESSIONS = 1000;
/** Without applied runtime settings (e.g. cloud mode): the settings' own default. */
const DEFAULT_KEEP_WARM_SECONDS = 300;

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

/** Claude's own words for a failed result. */
function errorMessageOf(result: SDKResultMessage): string {
  if (result.subtype === "success") return result.result || "Claude Code reported an error.";
  const errors = result.errors.filter((e) => e.trim() !== "");
  return errors.length > 0 ? errors.join("\n") : `Claude Code stopped: ${result.subtype}`;
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
  const maxSessions = Math.max(1, options.maxSessions ?? 5);
  /** Live sessions by task: running a reply, or idle and warm. */
  const sessions = new Map<string, LiveSession>();
  /**
   * Sessions taken out of `sessions` whose process may still be ending (closing with a grace):
   * the executor stopping stops these too, so no Claude Code outlives it.
   */
  const ending = new Set<LiveSession>();

  function forget(session: LiveSession): void {
    if (sessions.get(session.taskId) === session) sessions.delete(session.taskId);
    const child = session.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || ending.has(session))
      return;
    ending.add(session);
    child.once("exit", () => ending.delete(session));
  }

  /** Room for one more process: the oldest idle warm session beyond the slot count closes. */
  async function makeRoom(): Promise<void> {
    const idle = [...sessions.values()]
      .filter((s) => !s.busy)
      .sort((a, b) => a.idleSince - b.idleSince);
    while (sessions.size >= maxSessions && idle.length > 0) {
      const oldest = idle.shift()!;
      forget(oldest);
      log?.debug("closing a warm session for room", { taskId: oldest.taskId });
      await oldest.close(0);
    }
  }

  async function run(
    request: RunRequest,
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
    // The watchdog (stallSeconds / maxRunMinutes) of this reply, from before Claude Code starts
    // (a cold start is part of the run) until the reply ends; a warm session between replies
    // has none. Waiting for the owner's answer pauses it.
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
    const watched = watchedAsks(request, watch);
    try {
      return await runSession(watched, onEvent, eitherSignal(signal, watchStop.signal), {
        watch,
        stop: () => stop,
      });
    } finally {
      watch.dispose();
    }
  }

  async function runSession(
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
    watching: { watch: Watchdog; stop: () => Stop | null },
  ): Promise<RunOutcome> {
    const mode = runMode(request, permissionMode);
    const key = sessionKey(request, mode, options.model);
    let session = sessions.get(request.taskId);
    if (
      session &&
      (session.closed ||
        session.busy ||
        session.key !== key ||
        session.sessionId === null ||
        session.sessionId !== request.resumeSessionId)
    ) {
      // Started for something else (another mode, model or settings), or not the session
      // this message continues: a fresh process resumes from the session file instead.
      forget(session);
      await session.close(0);
      session = undefined;
    }
    let warm = true;
    if (!session) {
      warm = false;
      await makeRoom();
      const started = await startSession(request, key, mode);
      if (!started.ok) return started.outcome;
      if (signal.aborted) {
        // Stopped (or stalled) while Claude Code started: nothing of it may stay.
        await started.session.stop(interruptGraceMs);
        const code = abortCode(signal.reason);
        const message = watching.stop()?.message ?? abortMessage(code);
        return { ok: false, code, message, text: "", sessionId: request.resumeSessionId };
      }
      session = started.session;
      sessions.set(request.taskId, session);
    }
    session.clearWarmTimer();
    log?.debug("claude reply", { taskId: request.taskId, warm });
    return runReply(session, request, onEvent, signal, watching);
  }

  async function startSession(
    request: RunRequest,
    key: string,
    mode: PermissionMode,
  ): Promise<{ ok: true; session: LiveSession } | { ok: false; outcome: RunOutcome }> {
    const plan = await launcher.prepare(request);
    const executable = findClaudeExecutable(options.pathToClaudeCodeExecutable);
    const sdkAbort = new AbortController();
    const session = new LiveSession(
      request.taskId,
      key,
      plan,
      sdkAbort,
      request.resumeSessionId,
      forget,
    );
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
      session.child = proc;
      proc.stderr.on("data", (chunk: Buffer) => {
        session.reply?.alive();
        session.stderrTail = (session.stderrTail + chunk.toString("utf8")).slice(
          -STDERR_TAIL_CHARS,
        );
      });
      // The SDK's own last resort after its graceful close.
      spawnOptions.signal.addEventListener("abort", () => {
        if (proc.pid !== undefined) void killTree(proc.pid);
      });
      return proc;
    };
    try {
      // Loaded on the first task, not at start: an idle executor stays small.
      const { query } = await import("@anthropic-ai/claude-agent-sdk");
      const caps = request.capabilities;
      // Each ask goes to the reply running now (a warm session serves several messages), in
      // every mode (see askOptions); without a way to ask, anything that would ask is refused.
      const asking = askOptions({
        ...request,
        ask: async (question, s) => {
          const current = session.reply?.request.ask ?? request.ask;
          if (!current) return { behavior: "deny", message: "Nobody can answer now." };
          if (question.tool !== "ExitPlanMode") return current(question, s);
          // Plan mode's way out: the owner approves the plan (or keeps planning) on a card.
          const given = (question.input as { plan?: unknown }).plan;
          const plan =
            typeof given === "string" && given.trim() !== ""
              ? given
              : await readLatestPlan(
                  userEnv?.HOME ?? request.homeDir,
                  session.replyStartedAt,
                  session.planFile,
                );
          return current(
            { ...question, kind: "plan", input: { ...question.input, plan: plan ?? "" } },
            s,
          );
        },
      });
      const q = query({
        prompt: session.input,
        options: {
          cwd: request.workspaceDir,
          // Local: the owner's login-shell environment, plus the variables the owner listed in
          // agentEnv taken from the executor's own environment (set where it was started).
          env: userEnv
            ? localAgentEnvironment(
                {
                  ...userEnv,
                  ...agentExtraEnv(caps, baseEnv),
                  ...claudeTelemetryEnv(baseEnv, request.taskId),
                },
                clientApp,
                request.tmpDir,
              )
            : {
                ...agentExtraEnv(caps, baseEnv),
                ...agentEnvironment(baseEnv, request, clientApp),
                ...claudeTelemetryEnv(baseEnv, request.taskId),
              },
          includePartialMessages: true,
          permissionMode: mode,
          allowDangerouslySkipPermissions: mode === "bypassPermissions",
          // Whoever watches the task answers, in every mode (a request goes to the hub and
          // waits there); without a way to ask, anything that would ask is refused at once.
          ...(request.ask ? asking : { permissionPrompts: "none" as const }),
          // Claude Code's own prompt; the owner's appended text comes with capabilityOptions.
          systemPrompt: claudeCodePrompt(),
          abortController: sdkAbort,
          spawnClaudeCodeProcess: spawnClaude,
          ...(executable ? { pathToClaudeCodeExecutable: executable } : {}),
          ...(options.model ? { model: options.model } : {}),
          ...(request.resumeSessionId ? { resume: request.resumeSessionId } : {}),
          // Managed skills (a plugin folder), MCP servers, model, max turns, appended prompt.
          ...capabilityOptions(caps, userEnv ?? baseEnv),
          // The owner's pick for this message wins over the device's setting.
          ...(request.model ? { model: request.model } : {}),
        },
      });
      session.start(q);
      if (options.onOffers) void learnOffers(q, options.onOffers, log);
      return { ok: true, session };
    } catch (error) {
      await plan.dispose();
      return {
        ok: false,
        outcome: {
          ok: false,
          code: "agent_error",
          message: `Claude Code could not start: ${String(error)}`,
          text: "",
          sessionId: request.resumeSessionId,
        },
      };
    }
  }

  async function runReply(
    session: LiveSession,
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
    watching: { watch: Watchdog; stop: () => Stop | null },
  ): Promise<RunOutcome> {
    const emit = (event: ProgressEvent) => {
      try {
        onEvent(event);
      } catch {
        // A failing listener must not break the run.
      }
    };
    // What the reply tells besides its text: usage with context, rate limits, refused
    // credentials. Every message of the session while the reply runs is a sign of life.
    const facts = new RunFacts(emit);
    const reply = new Reply(request, session, emit, (message) => {
      watching.watch.output();
      if (message) facts.handle(message);
    });
    session.reply = reply;
    session.replyStartedAt = Date.now();

    let stopping: FailureCode | null = null;
    let resolveStopped: (outcome: RunOutcome) => void = () => undefined;
    const stopped = new Promise<RunOutcome>((resolve) => (resolveStopped = resolve));
    const onAbort = () => {
      const code = abortCode(signal.reason);
      stopping = code;
      const startedAt = Date.now();
      forget(session);
      void (async () => {
        // A graceful interrupt first lets Claude record the interruption in its session,
        // so a follow-up message resumes cleanly; the kill does not depend on it.
        const killed = await session.stop(interruptGraceMs);
        log?.debug("claude run stopped", {
          taskId: request.taskId,
          code,
          ms: Date.now() - startedAt,
          killed,
        });
        resolveStopped({
          ok: false,
          code,
          message: watching.stop()?.message ?? abortMessage(code),
          text: reply.stream.text,
          sessionId: session.sessionId,
        });
      })();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });

    session.send([request.prompt]);
    const finished = reply.ended.then((end): RunOutcome => {
      const sessionId = session.sessionId;
      if (end.ok) {
        if (end.result?.subtype === "success") reply.stream.ensureText(end.result.result);
        return {
          ok: true,
          text: reply.stream.text,
          sessionId,
          usage: end.usage && end.result ? facts.usage(end.usage, end.result) : end.usage,
          costUsd: end.result
            ? sessionCosts.messageCost(
                request.resumeSessionId,
                sessionId,
                end.result.total_cost_usd,
              )
            : null,
        };
      }
      const tail = session.stderrTail.trim();
      const message = end.result
        ? errorMessageOf(end.result)
        : `Claude Code ended without a result: ${end.error instanceof Error ? end.error.message : String(end.error)}${tail ? `\n${tail}` : ""}`;
      if (facts.refusedBy(end.result, session.stderrTail)) {
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
          text: reply.stream.text,
          sessionId,
        };
      }
      return { ok: false, code: "agent_error", message, text: reply.stream.text, sessionId };
    });

    const outcome = await Promise.race([stopped, finished]);
    if (stopping) return stopped;
    signal.removeEventListener("abort", onAbort);
    if (outcome.ok && !session.closed && options.keepWarm !== false) {
      // Warm for the next message: it goes into this process without Claude Code's start.
      session.keepWarm(request.capabilities?.runtime.keepWarmSeconds ?? DEFAULT_KEEP_WARM_SECONDS);
    } else {
      // A failed session is not reused: the next message resumes from the session file.
      forget(session);
      await session.close(EXIT_GRACE_MS);
    }
    if (!outcome.ok)
      log?.debug("claude run failed", { taskId: request.taskId, stderr: session.stderrTail });
    // The launcher stopped the run itself (a cloud task over its limits): say why.
    const stoppedBy = session.plan.stopReason?.() ?? null;
    if (!outcome.ok && stoppedBy) return { ...outcome, code: "agent_error", message: stoppedBy };
    return outcome;
  }

  /** The running reply of a task, when it is the one the hub names. */
  function replyOf(taskId: string, messageId: string): Reply | null {
    const reply = sessions.get(taskId)?.reply;
    return reply && !reply.isOver && reply.request.messageId === messageId ? reply : null;
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
    queueMessage: ({ taskId, messageId, userMessageId, text, interrupt }) => {
      const reply = replyOf(taskId, messageId);
      if (!reply) return "not_running";
      const state = reply.queue({ userMessageId, text }, interrupt);
      return state === "ended" ? "not_running" : state;
    },
    withdrawMessage: (taskId, userMessageId) => {
      const reply = sessions.get(taskId)?.reply;
      return reply ? reply.withdraw(userMessageId) : false;
    },
    closeTask: async (taskId) => {
      const session = sessions.get(taskId);
      if (!session || session.busy) return;
      forget(session);
      await session.close(0);
    },
    closeAll: async () => {
      const all = [...sessions.values(), ...ending];
      sessions.clear();
      ending.clear();
      await Promise.all(all.map((session) => session.stop(interruptGraceMs)));
    },
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
