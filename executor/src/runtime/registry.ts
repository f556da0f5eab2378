// The agent runtimes this device runs, by id. The task manager asks the registry for a task's
// runtime and never knows which one it runs; the executor asks it what to report (`runtimes`
// and `runtimeInfo` on device:register / heartbeat).
import type {
  DeviceRuntime,
  FailureCode,
  LocalSession,
  Project,
  RuntimeId,
  RuntimeOffers,
} from "@wegent/protocol";
import type { BaseEnv } from "./agent-env";
import { listCodexThreads } from "./codex/threads";
import { type CodexThread, codexThreadDir, readCodexThread } from "./codex/transcript";
import type { AgentRuntime } from "./types";
import { type CodexRuntimeOptions, createCodexRuntime } from "./codex/runtime";
import { findCodexExecutable } from "./codex/locate";

export { findClaudeExecutable } from "./claude/preflight";

/**
 * Lists and reads the owner's Codex threads in the offered projects ("On this device"), or
 * undefined when this machine has no `codex`. Runs with the owner's environment (their ~/.codex), less
 * the executor's own variables.
 */
export function codexThreadLister(options: { executable?: string; userEnv?: BaseEnv }):
  | {
      list: (projects: readonly Project[]) => Promise<LocalSession[]>;
      read: (projects: readonly Project[], threadId: string) => Promise<CodexThread | null>;
      dirOf: (threadId: string) => Promise<string | null>;
    }
  | undefined {
  const base = options.userEnv ?? process.env;
  const exe = findCodexExecutable(options.executable, base.PATH);
  if (!exe) return undefined;
  const env = Object.fromEntries(
    Object.entries(base).filter(([name]) => !name.startsWith("WEGENT_")),
  );
  return {
    list: (projects) => listCodexThreads(exe, env, projects),
    read: (projects, threadId) => readCodexThread(exe, env, projects, threadId),
    dirOf: (threadId) => codexThreadDir(exe, env, threadId),
  };
}

/**
 * The Codex runtime when a `codex` binary is there (the one named, else on the login PATH);
 * none otherwise, so the device does not offer Codex. A named binary that is missing is still
 * added: its preflight tells the owner what is wrong.
 */
export function codexRuntimeIfInstalled(options: CodexRuntimeOptions): AgentRuntime[] {
  if (options.executable) return [createCodexRuntime(options)];
  const found = findCodexExecutable(undefined, options.userEnv?.PATH ?? process.env.PATH);
  return found ? [createCodexRuntime({ ...options, executable: found })] : [];
}

export class RuntimeRegistry {
  private readonly byId = new Map<RuntimeId, AgentRuntime>();
  private readonly ready = new Set<RuntimeId>();
  private readonly described = new Map<RuntimeId, DeviceRuntime>();
  private readonly offers = new Map<RuntimeId, RuntimeOffers>();

  constructor(runtimes: readonly AgentRuntime[]) {
    for (const runtime of runtimes) {
      if (this.byId.has(runtime.name)) throw new Error(`runtime ${runtime.name} given twice`);
      this.byId.set(runtime.name, runtime);
    }
  }

  get(id: RuntimeId): AgentRuntime | undefined {
    return this.byId.get(id);
  }

  all(): AgentRuntime[] {
    return [...this.byId.values()];
  }

  /** The runtimes whose last preflight passed (`runtimes` in device:register). */
  readyIds(): RuntimeId[] {
    return [...this.byId.keys()].filter((id) => this.ready.has(id));
  }

  /** Records a preflight's result; true when it changed. */
  setReady(id: RuntimeId, ready: boolean): boolean {
    if (this.ready.has(id) === ready) return false;
    if (ready) this.ready.add(id);
    else this.ready.delete(id);
    return true;
  }

  /** Checks every runtime; the problems found, by runtime. */
  async preflightAll(): Promise<{ id: RuntimeId; code: FailureCode; message: string }[]> {
    const problems = await Promise.all(
      this.all().map(async (runtime) => {
        const problem = await runtime.preflight().catch((error: unknown) => ({
          code: "runtime_missing" as const,
          message: String(error),
        }));
        this.setReady(runtime.name, problem === null);
        return problem ? { id: runtime.name, ...problem } : null;
      }),
    );
    return problems.filter((p) => p !== null);
  }

  /** Describes every runtime again; true when what the device reports changed. */
  async describeAll(onError: (id: RuntimeId, error: unknown) => void): Promise<boolean> {
    const before = JSON.stringify(this.report());
    await Promise.all(
      this.all().map(async (runtime) => {
        try {
          const described = await runtime.describe?.();
          if (described) this.described.set(runtime.name, described);
        } catch (error) {
          onError(runtime.name, error);
        }
      }),
    );
    return JSON.stringify(this.report()) !== before;
  }

  /** What a live session taught of a runtime's models and commands; true when it changed. */
  learnOffers(id: RuntimeId, offers: RuntimeOffers): boolean {
    const before = JSON.stringify(this.report());
    this.offers.set(id, offers);
    return JSON.stringify(this.report()) !== before;
  }

  /** `runtimeInfo`: each described runtime with what its sessions offered; undefined before any. */
  report(): DeviceRuntime[] | undefined {
    if (this.described.size === 0) return undefined;
    // In the registry's order (Claude Code first), whichever answered first.
    const entries = [...this.byId.keys()].flatMap((id) => {
      const entry = this.described.get(id);
      return entry ? [entry] : [];
    });
    return entries.map((entry) => {
      const offers = this.offers.get(entry.id);
      return offers ? { ...entry, models: offers.models, commands: offers.commands } : entry;
    });
  }

  /** Takes a held message back from whichever runtime holds it. */
  withdrawMessage(taskId: string, userMessageId: string): boolean {
    return this.all().some((runtime) => runtime.withdrawMessage?.(taskId, userMessageId) ?? false);
  }

  async closeTask(taskId: string): Promise<void> {
    await Promise.all(this.all().map((runtime) => runtime.closeTask?.(taskId)));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all().map((runtime) => runtime.closeAll?.()));
  }
}
