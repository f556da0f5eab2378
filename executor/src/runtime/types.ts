import type {
  DeviceRuntime,
  FailureCode,
  InputKind,
  PermissionMode,
  ProgressEvent,
  RuntimeId,
  Question,
  Usage,
} from "@wegent/protocol";
import type { RunCapabilities } from "../capabilities/manager";

/** What the agent asks the user: permission for a tool call, or questions. */
export interface InputQuestion {
  kind: InputKind;
  tool: string;
  input: Record<string, unknown>;
  questions?: Question[];
  title?: string;
}

/** The user's answer (or the hub's deny on expiry). */
export interface InputDecision {
  behavior: "allow" | "deny";
  message?: string;
  remember?: "task";
  answers?: Record<string, string>;
}

/** One message of a task to run on this machine. */
export interface RunRequest {
  taskId: string;
  messageId: string;
  prompt: string;
  /** Claude session to resume (follow-up message of the same task), or null for a new one. */
  resumeSessionId: string | null;
  /** The task's own workspace folder (the agent's cwd); created by the caller. */
  workspaceDir: string;
  /** The task's own HOME (Claude keeps its session files here, so resume finds them). */
  homeDir: string;
  /** The task's own TMPDIR. */
  tmpDir: string;
  /** How the agent may use tools; default: the runtime's own setting. */
  permissionMode?: PermissionMode;
  /**
   * Asks the user and resolves with the answer (a deny when `signal` aborts). Without it,
   * anything that would ask is refused at once.
   */
  ask?: (question: InputQuestion, signal: AbortSignal) => Promise<InputDecision>;
  /** Managed skills, MCP servers and runtime settings as applied on this device. */
  capabilities?: RunCapabilities;
  /** The model the owner picked for this message; null: the device's setting. */
  model?: string | null;
}

/** A message the owner sent while a reply of the task runs (see runtime/claude/session.ts). */
export interface QueuedMessage {
  taskId: string;
  /** The running reply (assistant message) it goes into. */
  messageId: string;
  userMessageId: string;
  text: string;
  /** Stop the running turn and take it at once. */
  interrupt: boolean;
}

export type RunOutcome =
  | {
      ok: true;
      text: string;
      sessionId: string | null;
      usage: Usage | null;
      costUsd: number | null;
    }
  | {
      ok: false;
      code: FailureCode;
      message: string;
      /** Text produced before the failure. */
      text: string;
      sessionId: string | null;
    };

/** What became of a message typed while a reply runs (see `AgentRuntime.queueMessage`). */
export type QueueState = "queued" | "full" | "not_running";

export interface AgentRuntime {
  readonly name: RuntimeId;
  /**
   * Checks that the runtime is installed and has model credentials on this machine. Returns a
   * failure (with a message that says how to fix it on this device) or null when ready.
   */
  preflight(projectDir?: string): Promise<{ code: FailureCode; message: string } | null>;
  /**
   * What the device reports of this runtime (`runtimes` on the device): version, sign-in,
   * models, commands, and the preflight's problem. Optional: test runtimes leave it out.
   */
  describe?(): Promise<DeviceRuntime>;
  /**
   * Runs one message. Streams every piece of output through `onEvent` as it is produced
   * (text deltas carry their offset in the reply). When `signal` aborts, stops the agent and
   * every process it started within 1 s and resolves with `ok: false` and the code given as
   * the abort reason (`cancelled` or `executor_stopped`). Never rejects.
   */
  run(
    request: RunRequest,
    onEvent: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<RunOutcome>;
  /**
   * Holds a message for the reply running for `messageId`, taken at its next turn boundary.
   * `not_running`: that reply is not running here (any more); `full`: it holds 10 already.
   */
  queueMessage?(message: QueuedMessage): QueueState | Promise<QueueState>;
  /** Takes a held message back; false once it was taken (or it is unknown). */
  withdrawMessage?(taskId: string, userMessageId: string): boolean;
  /** Closes the task's warm session, if it is idle (the task was cancelled or deleted). */
  closeTask?(taskId: string): Promise<void>;
  /** Stops every session, running or warm (the executor stops). */
  closeAll?(): Promise<void>;
}
