import type {
  Block,
  FailureCode,
  MessageStages,
  HubFrame,
  LiveEvent,
  PermissionMode,
  RuntimeId,
  TaskStatus,
  Usage,
} from "@wegent/protocol";
import type { Work } from "./store";
import type { Tracer } from "../../edge/telemetry/tracer";
import type { HubMetrics } from "../../edge/telemetry/metrics";

// The shapes around the slots: what the Worker submits, how a message ends, and what the slots
// need from the outside. Kept apart so the rules in slots.ts read on their own.

export interface SubmitRequest {
  taskId: string;
  messageId: string;
  ownerId: string;
  prompt: string;
  resumeSessionId: string | null;
  /** A project the device advertised (checked by the Worker), or null for scratch. */
  projectId: string | null;
  permissionMode: PermissionMode;
  /** The model the owner picked (one the device offers), or null. */
  model?: string | null;
  /** The task's runtime; default claude-code. */
  runtime?: RuntimeId;
  /** The Worker's request span (RPC carries no trace context by itself). */
  traceparent?: string | undefined;
}

export type SubmitResult =
  | { ok: true; status: "running" | "queued"; queuePosition: number | null }
  | { ok: false; code: "device_offline" | "runtime_unavailable"; message: string };

/** How a message ends: its one final write to D1. */
export interface MessageEnd {
  status: Extract<TaskStatus, "completed" | "failed" | "cancelled">;
  content: string;
  errorCode: FailureCode | null;
  errorMessage: string | null;
  sessionId: string | null;
  usage: Usage | null;
  costUsd: number | null;
  /** The transcript: what the agent did, in order. */
  blocks: Block[];
  /** Where its time went (the task page's stage line). */
  stages?: MessageStages | null;
}

/** The executor's socket as the slots see it: somewhere to send frames. */
export interface ExecutorLink {
  send(frame: HubFrame): void;
}

/** What the slots need from the outside: the socket, D1, the live channel, the device row. */
export interface SlotEffects {
  /** The current executor socket, if one is connected. */
  executor(): ExecutorLink | null;
  /** A message the owner sent while the reply ran was taken into it: D1, written behind. */
  messageTaken(w: Work, userMessageId: string): void;
  /** Records a status in D1, written behind (in order, nobody waits for it). */
  setMessageStatus(w: Work, status: TaskStatus): void;
  /** The message's final write, after every earlier one; it ends when D1 has it. */
  finishMessage(w: Work, end: MessageEnd): Promise<void>;
  push(userId: string, event: LiveEvent): void;
  /** The figures may have changed: write them through (behind) and push them. */
  publishStatus(): void;
  /** The message ended: whatever waited on it (requests for the user's input) ends too. */
  messageEnded(w: Work): void;
  /** The hub's spans (docs/observability.md); absent or disabled: none. */
  tracer?: Tracer;
  /** The hub's metrics (docs/observability.md); absent or disabled: none. */
  metrics?: HubMetrics;
}

export type Ending = Partial<Omit<MessageEnd, "blocks">> & Pick<MessageEnd, "status">;
