import { mkdir } from "node:fs/promises";
import {
  type FailureCode,
  type TaskAccepted,
  type TaskCancel,
  type TaskExecute,
  type TaskInputAnswer,
  type TaskInputRequest,
} from "@wegent/protocol";
import type { LocalWorkspaces } from "./local/worktrees";
import type { Logger } from "./log";
import type { Outbox } from "./connection/outbox";
import { RecentIds } from "./connection/recent-ids";
import { taskPaths } from "./workspace/places";
import { InputRequests } from "./input-requests";
import type { RuntimeRegistry } from "./runtime/registry";
import type {
  AgentRuntime,
  InputQuestion,
  QueuedMessage,
  RunOutcome,
  RunRequest,
} from "./runtime/types";
import type { RunCapabilities } from "./capabilities/manager";
import { type PreExecuteHook, runPreExecuteHook } from "./hooks";
import { type MessageTrace, measured, metrics, tracing } from "./telemetry";
import { NO_MESSAGE_TRACE } from "./telemetry/types";
import { boundEvent, fitText } from "./connection/frame-fit";

export { fitText } from "./connection/frame-fit";

/** The largest failure message the protocol carries. */
const MAX_FAILURE_MESSAGE = 4000;

export interface TaskManagerOptions {
  /** The runtimes of this device; each message runs on its task's runtime. */
  runtimes: RuntimeRegistry;
  outbox: Outbox;
  maxSlots: number;
  workspaceRoot: string;
  homeDir: string;
  log: Logger;
  /** Sends `task:accepted` (not kept in the outbox: the hub re-sends an unanswered dispatch). */
  sendAccepted: (frame: TaskAccepted) => void;
  /** Local mode: where a message naming a project runs (its worktree or its directory). */
  workspaces?: Pick<LocalWorkspaces, "acquire">;
  /** Told where a task works, before its message runs (the workspace commands use it). */
  onWorkspace?: (taskId: string, dir: string) => Promise<void>;
  /** Sends a request for the user's input (re-sent after each registration until answered). */
  sendInputRequest?: (frame: TaskInputRequest) => void;
  /** Told after every preflight, so registration can say whether the runtime is ready. */
  onPreflight?: (runtime: AgentRuntime["name"], ready: boolean) => void;
  now?: () => number;
  /** The managed capabilities applied now; read once per message. */
  capabilities?: () => Promise<RunCapabilities>;
  /** Runs before each message; a failure ends it with `hook_failed`. */
  preExecuteHook?: PreExecuteHook | null;
}

interface RunningMessage {
  taskId: string;
  messageId: string;
  controller: AbortController;
  /** The runtime it runs on, once known. */
  runtime: AgentRuntime | undefined;
}

/**
 * Runs the messages the hub sends, at most `maxSlots` at once, each in its task's own folders,
 * and writes everything they produce to the outbox.
 */
export class TaskManager {
  private readonly running = new Map<string, RunningMessage>();
  /** Cancels that arrived before their task: `m:<messageId>` or `t:<taskId>`. */
  private readonly earlyCancels: RecentIds;
  private accepting = true;
  private idleWaiters: (() => void)[] = [];
  private readonly inputs: InputRequests;
  /** Each running message's spans (telemetry/; no-ops when tracing is off). */
  private readonly traces = new Map<string, MessageTrace>();

  constructor(private readonly options: TaskManagerOptions) {
    this.earlyCancels = new RecentIds(1000, 10 * 60_000, options.now);
    this.inputs = new InputRequests(options.log, options.sendInputRequest);
  }

  get runningCount(): number {
    return this.running.size;
  }

  runningTaskIds(): string[] {
    return [...new Set([...this.running.values()].map((run) => run.taskId))];
  }

  isRunning(messageId: string): boolean {
    return this.running.has(messageId);
  }

  execute(frame: TaskExecute): void {
    const { taskId, messageId } = frame;
    const { outbox, log } = this.options;
    const accepted: TaskAccepted = { type: "task:accepted", taskId, messageId };
    if (this.running.has(messageId) || outbox.has(messageId)) {
      // A re-sent dispatch whose first answer was lost: confirm, never start it twice.
      log.info("task re-sent by the hub; already running here", { taskId, messageId });
      this.options.sendAccepted(accepted);
      return;
    }
    this.options.sendAccepted(accepted);
    outbox.open(taskId, messageId);
    if (this.earlyCancels.take(`m:${messageId}`) || this.earlyCancels.take(`t:${taskId}`)) {
      log.info("task cancelled before it started", { taskId, messageId });
      this.fail(frame, "cancelled", "Cancelled before it started.");
      return;
    }
    if (!this.accepting) {
      this.fail(frame, "executor_stopped", "The executor on this device is stopping.");
      return;
    }
    if (this.running.size >= this.options.maxSlots) {
      log.warn("task refused: every slot is busy", {
        taskId,
        messageId,
        slots: this.options.maxSlots,
      });
      this.fail(
        frame,
        "internal_error",
        `All ${this.options.maxSlots} slots of this device are busy.`,
      );
      return;
    }
    this.start(frame);
  }

  cancel(frame: TaskCancel): void {
    const targets = [...this.running.values()].filter(
      (run) =>
        run.taskId === frame.taskId &&
        (frame.messageId === null || run.messageId === frame.messageId),
    );
    // A warm idle session of the task goes too: the owner stopped it (or it was deleted).
    if (targets.length === 0) void this.options.runtimes.closeTask(frame.taskId);
    if (targets.length === 0) {
      if (frame.messageId !== null && this.options.outbox.has(frame.messageId)) return; // already ended
      this.earlyCancels.add(
        frame.messageId === null ? `t:${frame.taskId}` : `m:${frame.messageId}`,
      );
      this.options.log.debug("cancel for a task not running here; remembered", {
        taskId: frame.taskId,
      });
      return;
    }
    for (const run of targets) {
      this.options.log.info("cancelling task", {
        taskId: run.taskId,
        messageId: run.messageId,
        reason: frame.reason,
      });
      run.controller.abort("cancelled" satisfies FailureCode);
    }
  }

  /**
   * A message the owner sent while a reply of the task runs: held for the running session of
   * the task's runtime (see runtime/claude/session.ts). Null (404 at the hub): that reply does not run
   * here (any more), so the Worker sends the message as a new one.
   */
  async queueMessage(params: QueuedMessage): Promise<{ state: "queued" } | null> {
    const run = this.running.get(params.messageId);
    if (!run || run.taskId !== params.taskId || run.controller.signal.aborted) return null;
    const state = (await run.runtime?.queueMessage?.(params)) ?? "not_running";
    if (state === "full") throw new Error("This reply already holds 10 messages.");
    if (state === "not_running") return null;
    this.options.log.info("message queued into the running reply", {
      taskId: params.taskId,
      messageId: params.messageId,
      interrupt: params.interrupt,
    });
    return { state };
  }

  /** Takes a held message back; false once it went into the session. */
  withdrawMessage(taskId: string, userMessageId: string): boolean {
    return this.options.runtimes.withdrawMessage(taskId, userMessageId);
  }

  /** Stops a run whose output the hub no longer wants; its frames are already dropped. */
  abandon(messageId: string): void {
    const run = this.running.get(messageId);
    if (!run) return;
    this.options.log.warn("the hub ended this task while the device was away; stopping it", {
      taskId: run.taskId,
      messageId,
    });
    run.controller.abort("cancelled" satisfies FailureCode);
  }

  /** Requests still waiting for an answer: re-sent after a registration. */
  openInputRequests(): TaskInputRequest[] {
    return this.inputs.open();
  }

  /** The user's answer (or the hub's deny). Unknown or already answered requests are ignored. */
  answer(frame: TaskInputAnswer): void {
    this.inputs.answer(frame);
  }

  /** Graceful stop, step 1: answer new work with `executor_stopped`. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Graceful stop, step 2: abort what is still running. */
  abortAll(code: FailureCode): void {
    for (const run of this.running.values()) run.controller.abort(code);
    // Warm sessions hold no slot, but their processes end with the executor.
    void this.options.runtimes.closeAll();
  }

  /** Resolves when nothing runs, or after `timeoutMs`; true when idle. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  private start(frame: TaskExecute): void {
    const controller = new AbortController();
    const run: RunningMessage = {
      taskId: frame.taskId,
      messageId: frame.messageId,
      controller,
      runtime: undefined,
    };
    this.running.set(frame.messageId, run);
    this.traces.set(frame.messageId, measured(tracing().message(frame), metrics(), frame.runtime));
    this.options.log.info("task started", { taskId: frame.taskId, messageId: frame.messageId });
    void this.runMessage(frame, run)
      .catch((error: unknown) => {
        this.options.log.error("task crashed in the executor", {
          taskId: frame.taskId,
          error: describe(error),
        });
        this.fail(frame, "internal_error", `The executor failed: ${describe(error)}`);
      })
      .finally(() => {
        this.running.delete(frame.messageId);
        this.traces.delete(frame.messageId);
        if (this.running.size === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const waiter of waiters) waiter();
        }
      });
  }

  private async runMessage(frame: TaskExecute, run: RunningMessage): Promise<void> {
    const { log } = this.options;
    const { taskId, messageId } = frame;
    const signal = run.controller.signal;
    const runtime = this.options.runtimes.get(frame.runtime);
    if (!runtime) {
      const offered = this.options.runtimes.all().map((r) => r.name);
      log.warn("runtime not on this device", { taskId, runtime: frame.runtime });
      this.fail(
        frame,
        "runtime_missing",
        `This device does not run ${frame.runtime}; it runs ${offered.join(", ") || "no agent"}.`,
      );
      return;
    }
    run.runtime = runtime;
    const trace = this.traceOf(messageId);
    const preparing = trace.step("executor workspace preparation");
    const capabilities = this.options.capabilities;
    // Per task, not per message: a follow-up resumes the session the runtime keeps under HOME.
    const places = taskPaths(
      { homeDir: this.options.homeDir, workspaceRoot: this.options.workspaceRoot },
      taskId,
    );
    const request: RunRequest = {
      taskId,
      messageId,
      prompt: frame.prompt,
      resumeSessionId: frame.resumeSessionId,
      workspaceDir: places.workspaceDir,
      homeDir: places.agentHome,
      tmpDir: places.tmpDir,
      permissionMode: frame.permissionMode,
      model: frame.model ?? null,
      ...(this.options.sendInputRequest
        ? {
            // Ends with the tool call (Claude's signal) or with the run (cancel, stop).
            ask: async (question: InputQuestion, s: AbortSignal) => {
              const waiting = trace.step("executor input answer", {
                "wegent.input_kind": question.kind,
              });
              const ask = this.inputs.ask(taskId, messageId, question, eitherSignal(s, signal));
              const decision = await ask;
              waiting.end({ "wegent.input_answer": decision.behavior });
              return decision;
            },
          }
        : {}),
      capabilities: capabilities
        ? await this.traced(trace, "executor capability sync", capabilities)
        : undefined,
    };
    await Promise.all(
      [request.homeDir, request.tmpDir].map((dir) => mkdir(dir, { recursive: true, mode: 0o700 })),
    );
    let release = (): void => undefined;
    if (frame.projectId !== null) {
      // Only an id the executor advertised maps to a directory; never a path from the hub.
      const workspaces = this.options.workspaces;
      const workspace = workspaces
        ? await this.traced(trace, "executor worktree", () =>
            workspaces.acquire({ ...frame, projectId: frame.projectId! }, signal),
          )
        : ({
            ok: false,
            code: "project_unavailable",
            message: "This device offers no projects.",
          } as const);
      preparing.end({ "wegent.workspace_kind": "project", "wegent.ok": workspace.ok });
      if (!workspace.ok) {
        log.warn("project refused", { taskId, code: workspace.code, message: workspace.message });
        this.fail(frame, workspace.code, workspace.message);
        return;
      }
      request.workspaceDir = workspace.workspace.dir;
      release = workspace.workspace.release;
    } else {
      // Private: a --workspace outside the executor home may be listable by other users.
      await mkdir(request.workspaceDir, { recursive: true, mode: 0o700 });
      preparing.end({ "wegent.workspace_kind": "scratch" });
    }
    try {
      await this.options.onWorkspace?.(taskId, request.workspaceDir).catch((error: unknown) => {
        log.warn("could not record the task's workspace", { taskId, error: String(error) });
      });
      await this.runIn(frame, request, runtime, signal);
    } finally {
      release();
    }
  }

  private async runIn(
    frame: TaskExecute,
    request: RunRequest,
    runtime: AgentRuntime,
    signal: AbortSignal,
  ): Promise<void> {
    const { outbox, log } = this.options;
    const { taskId, messageId } = frame;
    const trace = this.traceOf(messageId);
    const problem = await runtime.preflight(request.workspaceDir);
    this.options.onPreflight?.(runtime.name, problem === null);
    if (problem) {
      log.warn("runtime not ready", { taskId, code: problem.code, message: problem.message });
      this.fail(frame, problem.code, problem.message);
      return;
    }
    if (signal.aborted) {
      this.fail(frame, abortCode(signal), abortMessage(abortCode(signal)));
      return;
    }
    const hook = this.options.preExecuteHook;
    if (hook) {
      const result = await this.traced(trace, "executor pre-execute hook", () =>
        runPreExecuteHook(
          hook,
          { taskId, workspaceDir: request.workspaceDir, project: frame.projectId ?? null },
          signal,
        ),
      );
      if (signal.aborted) {
        this.fail(frame, abortCode(signal), abortMessage(abortCode(signal)));
        return;
      }
      if (!result.ok) {
        log.warn("pre-execute hook failed", { taskId, messageId });
        this.fail(frame, "hook_failed", result.message);
        return;
      }
    }

    trace.agentStarting();
    const traceparent = trace.traceparent ? { traceparent: trace.traceparent } : {};
    const outcome: RunOutcome = await runtime.run(
      request,
      (event) => {
        trace.event(event);
        outbox.push({
          type: "task:progress",
          taskId,
          messageId,
          event: boundEvent(event),
          ...traceparent,
        });
      },
      signal,
    );
    if (outcome.ok) {
      log.info("task complete", { taskId, messageId });
      outbox.push({
        type: "task:complete",
        taskId,
        messageId,
        text: fitText(outcome.text),
        sessionId: outcome.sessionId,
        usage: outcome.usage,
        costUsd: outcome.costUsd,
        ...traceparent,
      });
      trace.end("completed");
    } else {
      log.info("task failed", { taskId, messageId, code: outcome.code });
      outbox.push({
        type: "task:failed",
        taskId,
        messageId,
        code: outcome.code,
        message: outcome.message.slice(0, MAX_FAILURE_MESSAGE),
        text: fitText(outcome.text),
        sessionId: outcome.sessionId,
        ...traceparent,
      });
      trace.end("failed", outcome.code);
    }
  }

  private traceOf(messageId: string): MessageTrace {
    return this.traces.get(messageId) ?? NO_MESSAGE_TRACE;
  }

  /** Runs one step of a message inside its span. */
  private async traced<T>(trace: MessageTrace, name: string, step: () => Promise<T>): Promise<T> {
    const span = trace.step(name);
    try {
      const result = await step();
      span.end();
      return result;
    } catch (error) {
      span.end({}, true);
      throw error;
    }
  }

  private fail(frame: TaskExecute, code: FailureCode, message: string): void {
    const trace = this.traceOf(frame.messageId);
    trace.end("failed", code);
    if (!this.traces.has(frame.messageId)) {
      // Refused before it started (cancelled, stopping, no slot): counted, with no duration.
      const ended = { status: "failed", code, durationMs: null, firstTokenMs: null };
      metrics().messageEnded({ runtime: frame.runtime, ...ended });
    }
    this.options.outbox.push({
      type: "task:failed",
      taskId: frame.taskId,
      messageId: frame.messageId,
      code,
      message: message.slice(0, MAX_FAILURE_MESSAGE),
      text: "",
      sessionId: null,
      ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
    });
  }
}

function abortCode(signal: AbortSignal): FailureCode {
  return signal.reason === "executor_stopped" ? "executor_stopped" : "cancelled";
}

function abortMessage(code: FailureCode): string {
  return code === "executor_stopped" ? "The executor on this device stopped." : "Cancelled.";
}

function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return a;
  if (b.aborted) return b;
  const both = new AbortController();
  const abort = (from: AbortSignal) => () => both.abort(from.reason);
  a.addEventListener("abort", abort(a), { once: true });
  b.addEventListener("abort", abort(b), { once: true });
  return both.signal;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
