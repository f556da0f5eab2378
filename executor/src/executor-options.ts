import type { DeviceSandbox, DeviceType } from "@wegent/protocol";
import type { ConnectionTimings, Authorize, StopReason } from "./connection/connection";
import type { OwnerCommand } from "./commands/owner-commands";
import type { LocalWork } from "./local/local-work";
import type { Logger } from "./log";
import type { BatchLimits } from "./connection/outbox";
import type { AgentRuntime } from "./runtime/types";
import type { PreExecuteHook } from "./hooks";
import type { McpPolicy } from "./capabilities/mcp-policy";

// What an Executor is made with: its options, timings and how it authenticates.

export interface ExecutorTimings extends ConnectionTimings {
  /** `device:heartbeat` with the running task ids, so the hub can reconcile. */
  heartbeatIntervalMs: number;
  /** On stop, how long to wait for the hub to acknowledge the last frames. */
  finalAckWaitMs: number;
  /** On stop, how long aborted runs get to end (the runtime promises 1 s). */
  abortWaitMs: number;
}

export const DEFAULT_TIMINGS: ExecutorTimings = {
  pingIntervalMs: 10_000,
  pongTimeoutMs: 25_000,
  heartbeatIntervalMs: 30_000,
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  reconnectSpreadMs: 5_000,
  reconnectBlipSpreadMs: 2_000,
  outageCapMs: 10_000,
  outageFastMs: 120_000,
  handshakeTimeoutMs: 10_000,
  finalAckWaitMs: 3_000,
  abortWaitMs: 3_000,
};

/** Warn when the token has less than this left. */
export const TOKEN_WARNING_MS = 2 * 24 * 60 * 60 * 1000;

/** Device credential rotation (security/device-auth.ts); without it `token` is used as is. */
export interface ExecutorAuth {
  authorize: Authorize;
  connected(): void;
  refusedConnect(code: string, serverMessage: string): StopReason | null;
}

export interface ExecutorOptions {
  backendUrl: string;
  token: string;
  auth?: ExecutorAuth;
  deviceType: DeviceType;
  deviceId: string;
  deviceName: string;
  /** e.g. `linux-x64`. */
  platform: string;
  version: string;
  maxSlots: number;
  workspaceRoot: string;
  homeDir: string;
  /** On a graceful stop, how long running tasks may go on before they are aborted. */
  stopTimeoutMs: number;
  /** The agent runtimes this device runs (Claude Code, Codex); a task names its own. */
  runtimes: AgentRuntime[];
  /** Local mode: the owner's projects, their workspaces and local sessions. */
  local?: LocalWork;
  /** The owner's command keys (device-config.json `commands`). */
  ownerCommands?: OwnerCommand[];
  /** The user's home (the skill folders); default os.homedir(). */
  userHome?: string;
  /** The environment owner commands start from (local mode: the user's login shell's). */
  commandEnv?: Record<string, string>;
  /** What device-config.json `managedMcp` and the permission floor let managed MCP servers do. */
  mcpPolicy?: McpPolicy;
  /** Cloud mode: the sandbox each task runs in, reported at register. */
  sandbox?: DeviceSandbox;
  /** device-config.json `preExecuteHook`: runs before each message. */
  preExecuteHook?: PreExecuteHook | null;
  log?: Logger;
  timings?: Partial<ExecutorTimings>;
  /** How output events are gathered into frames (default: DEFAULT_BATCH). */
  outputBatch?: Partial<BatchLimits>;
  random?: () => number;
}

export interface ExecutorExit {
  exitCode: number;
  message: string;
}
