// The Codex runtime: one `codex app-server` process per running message, spoken to in JSON-RPC
// over stdio (rpc.ts). A new task starts a thread; a follow-up resumes it (`thread/resume`,
// the thread id is the task's session id). A message typed while it works goes in with
// `turn/steer`; a cancel interrupts the turn, then the process tree goes within 1 s.
import { homedir } from "node:os";
import { join } from "node:path";
import type { DeviceRuntime, FailureCode, PermissionMode, ProgressEvent } from "@wegent/protocol";
import type { Logger } from "../../log";
import { type BaseEnv, baseAgentEnvironment } from "../agent-env";
import { type AgentLauncher, directLauncher } from "../launcher";
import { killTree } from "../../system/process-tree";
import type { AgentRuntime, QueuedMessage, QueueState, RunOutcome, RunRequest } from "../types";
import { eitherSignal, type Stop, Watchdog, watchedAsks, type WatchLimits } from "../watchdog";
import type {
  InitializeParams,
  ThreadResumeParams,
  ThreadStartParams,
  TurnInterruptParams,
  TurnStartParams,
  TurnSteerParams,
} from "./app-server-protocol";
import {
  answerServerRequest,
  type CollaborationParams,
  codexPolicy,
  collaborationFor,
} from "./approvals";
import { CodexReply, type TurnEnd } from "./events";
import { type CodexProvider, featureOverrides, taskCodexHome } from "./home";
import { findCodexExecutable } from "./locate";
import { AppServerRpc } from "./rpc";
import { describeCodex } from "./describe";
import { agentExtraEnv } from "../../capabilities/sdk-options";
import { type CodexCapabilities, codexCapabilities } from "./capabilities";
import { answerMcpApproval, MCP_ELICITATION } from "./mcp-approval";
import { z } from "zod";

const CODEX_SETTINGS = {
  names: ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL", "RUST_LOG"],
  prefixes: ["CODEX_"],
};

export interface CodexRuntimeOptions {
  /** `--codex PATH` / device-config.json; else `codex` on PATH. */
  executable?: string;
  launcher?: AgentLauncher;
  /** The environment the agent starts from (local mode: the login shell's). */
  userEnv?: BaseEnv;
  /** A model provider of its own (tests, cloud): a CODEX_HOME per task with its config. */
  provider?: CodexProvider;
  /** Extra variables for the child (e.g. the provider's key). */
  extraEnv?: Record<string, string>;
  /**
   * Where the task's workspace and HOME are as Codex sees them, when the launcher runs it in a
   * sandbox that mounts them elsewhere (cloud: /workspace, /home/agent; runtime/codex/cloud.ts).
   */
  sandboxed?: { workspaceDir: string; homeDir: string };
  permissionMode?: PermissionMode;
  clientVersion?: string;
  /**
   * Tests only (the CLI never sets it): watchdog limits instead of the owner's stallSeconds /
   * maxRunMinutes, so a stalled run can be checked in seconds.
   */
  watchLimits?: Partial<WatchLimits>;
  log?: Logger;
}

const ThreadResult = z.looseObject({
  thread: z.looseObject({ id: z.string() }),
  model: z.string().optional(),
});
const TurnResult = z.looseObject({ turn: z.looseObject({ id: z.string() }) });

interface Running {
  taskId: string;
  messageId: string;
  threadId: string;
  turnId: string;
  rpc: AppServerRpc;
  onEvent: (event: ProgressEvent) => void;
}

export function createCodexRuntime(options: CodexRuntimeOptions = {}): AgentRuntime {
  const base = options.userEnv ?? process.env;
  const launcher = options.launcher ?? directLauncher;
  const running = new Map<string, Running>();
  const executable = (): string | null => findCodexExecutable(options.executable, base.PATH);

  /**
   * One reply under the watchdog (stallSeconds / maxRunMinutes, as for Claude Code): from the
   * start of `codex app-server` to the end of the turn; waiting for the owner's answer pauses
   * it. A stop ends the run like a cancel, with `agent_stalled` / `run_time_exceeded`.
   */
  async function run(
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    const settings = request.capabilities?.runtime;
    let stop: Stop | null = null;
    const watchStop = new AbortController();
    const watch = new Watchdog(
      {
        stallMs: options.watchLimits?.stallMs ?? (settings?.stallSeconds ?? 600) * 1000,
        maxRunMs:
          options.watchLimits?.maxRunMs ??
          (settings?.maxRunMinutes ? settings.maxRunMinutes * 60_000 : null),
      },
      (s) => {
        stop = s;
        options.log?.warn("codex run stopped by the watchdog", {
          taskId: request.taskId,
          code: s.code,
        });
        watchStop.abort(s.code);
      },
    );
    const watched = watchedAsks(request, watch);
    try {
      return await runTurn(
        watched,
        (event) => {
          watch.output();
          onEvent(event);
        },
        eitherSignal(signal, watchStop.signal),
        { watch, stopMessage: () => stop?.message ?? null },
      );
    } finally {
      watch.dispose();
    }
  }

  async function runTurn(
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
    watching: { watch: Watchdog; stopMessage: () => string | null },
  ): Promise<RunOutcome> {
    const aborted = (): string => watching.stopMessage() ?? abortMessage(signal);
    const exe = executable();
    const reply = new CodexReply(onEvent);
    const fail = (code: FailureCode, message: string, sessionId: string | null): RunOutcome => ({
      ok: false,
      code,
      message,
      text: reply.text,
      sessionId,
    });
    if (!exe) return fail("runtime_missing", missingMessage(), request.resumeSessionId);
    let hostHome: string;
    try {
      hostHome = options.provider
        ? await taskCodexHome(request.homeDir, options.provider)
        : (base.CODEX_HOME ?? join(base.HOME ?? homedir(), ".codex"));
    } catch (error) {
      // E.g. the agent left its CODEX_HOME as a link out of its HOME (refused, home.ts).
      const why = error instanceof Error ? error.message : String(error);
      return fail(
        "agent_error",
        `Codex's home could not be prepared: ${why}`,
        request.resumeSessionId,
      );
    }
    // The same folder, seen from inside the sandbox (taskCodexHome writes <HOME>/.codex).
    const codexHome = options.sandboxed ? join(options.sandboxed.homeDir, ".codex") : hostHome;
    const cwd = options.sandboxed?.workspaceDir ?? request.workspaceDir;
    const caps = await managedCapabilities(request);
    const env = {
      // The variables the owner lists in Settings (agentEnv); never over HOME, TMPDIR or PATH.
      ...agentExtraEnv(request.capabilities, base),
      ...baseAgentEnvironment(base, request, CODEX_SETTINGS),
      ...options.extraEnv,
      ...caps.env,
      CODEX_HOME: codexHome,
    };
    const plan = await launcher.prepare(request).catch(async (error: unknown) => {
      await caps.dispose().catch(() => undefined);
      throw error;
    });
    const child = plan.spawn(
      exe,
      ["app-server", ...featureOverrides(), ...caps.args],
      request.workspaceDir,
      env,
    );
    const pid = child.pid;
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    let end: (value: TurnEnd) => void = () => undefined;
    const ended = new Promise<TurnEnd>((resolve) => (end = resolve));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    void exited.then(() =>
      end({ ok: false, code: "agent_error", message: exitMessage(stderr), interrupted: false }),
    );
    const rpc = new AppServerRpc(
      child,
      {
        notification: (method, params) => {
          // Any word from Codex is a sign of life (the watchdog's stall clock).
          watching.watch.output();
          const turnEnd = reply.take(method, params);
          if (turnEnd) end(turnEnd);
        },
        request: (method, params) =>
          method === MCP_ELICITATION
            ? answerMcpApproval(params, request.ask, signal)
            : answerServerRequest(method, params, request.ask, signal),
      },
      (line) => options.log?.debug("codex: unreadable line", { line: line.slice(0, 200) }),
    );
    let threadId = request.resumeSessionId;
    const stop = async (): Promise<void> => {
      if (pid !== undefined) await killTree(pid).catch(() => undefined);
    };
    const onAbort = (): void => {
      const current = running.get(request.messageId);
      if (current?.turnId) {
        const params: TurnInterruptParams = { threadId: current.threadId, turnId: current.turnId };
        void rpc.request("turn/interrupt", params).catch(() => undefined);
      }
      // The turn gets a moment to end on its own; the process tree goes anyway.
      setTimeout(() => void stop(), 300).unref();
      end({ ok: false, code: abortCode(signal), message: aborted(), interrupted: true });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const init: InitializeParams = {
        clientInfo: { name: "wegent", title: "Wegent", version: options.clientVersion ?? "0" },
        capabilities: { experimentalApi: true },
      } as InitializeParams;
      await rpc.request("initialize", init);
      rpc.notify("initialized");
      const policy = codexPolicy(request.permissionMode ?? options.permissionMode ?? "default");
      const model = request.model ?? null;
      const thread = threadId
        ? await rpc.request<unknown>("thread/resume", {
            threadId,
            cwd,
            ...policy,
            ...(model ? { model } : {}),
          } satisfies ThreadResumeParams)
        : await rpc.request<unknown>("thread/start", {
            cwd,
            ...policy,
            ...(model ? { model } : {}),
          } satisfies ThreadStartParams);
      const started = ThreadResult.parse(thread);
      threadId = started.thread.id;
      if (signal.aborted) return fail(abortCode(signal), aborted(), threadId);
      const turnParams: TurnStartParams & CollaborationParams = {
        threadId,
        input: [{ type: "text", text: request.prompt, text_elements: [] }],
        ...collaborationFor(
          request.permissionMode ?? options.permissionMode ?? "default",
          model ?? started.model ?? null,
        ),
      };
      const turn = TurnResult.parse(await rpc.request("turn/start", turnParams));
      running.set(request.messageId, {
        taskId: request.taskId,
        messageId: request.messageId,
        threadId,
        turnId: turn.turn.id,
        rpc,
        onEvent,
      });
      if (signal.aborted) onAbort();
      const result = await ended;
      if (result.ok) {
        return {
          ok: true,
          text: reply.text,
          sessionId: threadId,
          usage: reply.usage,
          costUsd: null,
        };
      }
      if (result.interrupted) return fail(abortCode(signal), aborted(), threadId);
      return fail(result.code, result.message, threadId);
    } catch (error) {
      if (signal.aborted) return fail(abortCode(signal), aborted(), threadId);
      return fail("agent_error", `Codex failed: ${String(error)}${stderrTail(stderr)}`, threadId);
    } finally {
      signal.removeEventListener("abort", onAbort);
      running.delete(request.messageId);
      child.stdin.end();
      await stop();
      await plan.dispose();
      await caps.dispose().catch(() => undefined);
    }
  }

  /** Managed skills and MCP servers as `-c` overrides; a failure runs without them (logged). */
  async function managedCapabilities(request: RunRequest): Promise<CodexCapabilities> {
    try {
      return await codexCapabilities(request.capabilities, base, request.homeDir);
    } catch (error) {
      options.log?.warn("codex: managed skills and MCP servers not applied to this run", {
        taskId: request.taskId,
        error: String(error),
      });
      return { args: [], env: {}, dispose: () => Promise.resolve() };
    }
  }

  /**
   * `turn/steer` before the answer: only a message Codex took is "queued" (and at once shown as
   * taken). One it refuses (the turn just ended, or the process went) is `not_running`, so the
   * Worker sends it as an ordinary follow-up instead of leaving it marked waiting.
   */
  async function queueMessage(message: QueuedMessage): Promise<QueueState> {
    const current = running.get(message.messageId);
    if (!current || current.taskId !== message.taskId) return "not_running";
    const params: TurnSteerParams = {
      threadId: current.threadId,
      expectedTurnId: current.turnId,
      clientUserMessageId: message.userMessageId,
      input: [{ type: "text", text: message.text, text_elements: [] }],
    };
    const taken = (): void =>
      current.onEvent({
        kind: "user_message",
        userMessageId: message.userMessageId,
        text: message.text,
      });
    const refused = (error: unknown): void =>
      options.log?.warn("codex: turn/steer refused", {
        taskId: message.taskId,
        error: String(error),
      });
    const steer = current.rpc.request("turn/steer", params);
    const answer = await Promise.race([
      steer.then(
        () => "taken" as const,
        (error: unknown) => {
          refused(error);
          return "refused" as const;
        },
      ),
      new Promise<"late">((resolve) => setTimeout(() => resolve("late"), STEER_WAIT_MS).unref()),
    ]);
    if (answer === "refused") return "not_running";
    if (answer === "taken") {
      taken();
      return "queued";
    }
    // No answer in time (Codex is busy or stuck): the message waits, shown as such; taken when
    // Codex says so, else it ends `cancelled` with the reply.
    steer.then(taken, () => undefined);
    return "queued";
  }

  return {
    name: "codex",
    preflight: () =>
      Promise.resolve(executable() ? null : { code: "runtime_missing", message: missingMessage() }),
    describe: (): Promise<DeviceRuntime> => describeCodex(executable(), base),
    run,
    queueMessage,
    // A steered message goes in at once: there is nothing held to take back.
    withdrawMessage: () => false,
    closeTask: () => Promise.resolve(),
    closeAll: () => Promise.resolve(),
  };
}

/** How long a steered message waits for Codex's answer; well within the hub's 10 s. */
const STEER_WAIT_MS = 5_000;

function missingMessage(): string {
  return "Codex is not installed on this device: no `codex` on the PATH of your login shell. Install it (`npm install -g @openai/codex`) or start wegent-executor with --codex PATH.";
}

function stderrTail(stderr: string): string {
  const tail = stderr.trim().split("\n").slice(-3).join("\n");
  return tail ? `\n${tail}` : "";
}

function exitMessage(stderr: string): string {
  return `codex app-server ended before the turn did.${stderrTail(stderr)}`;
}

function abortCode(signal: AbortSignal): FailureCode {
  const reason: unknown = signal.reason;
  if (reason === "executor_stopped" || reason === "agent_stalled") return reason;
  if (reason === "run_time_exceeded") return reason;
  return "cancelled";
}

function abortMessage(signal: AbortSignal): string {
  return abortCode(signal) === "executor_stopped"
    ? "The executor on this device stopped."
    : "Cancelled.";
}
