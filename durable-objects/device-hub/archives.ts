import type { DeviceParams, WorkspaceOutcome } from "@wegent/protocol";
import type { DeviceAnswer } from "./requests";

// Workspace requests the Worker relays to the executor (archive, restore, cleanup) are methods
// of the generic device RPC (`workspace.*`, requests.ts): this only names them and reads their
// answer as the Worker expects it.

export type WorkspaceMethod =
  "workspace.archive" | "workspace.restore" | "workspace.restore_snapshot" | "workspace.cleanup";

export type WorkspaceAsk = {
  [M in WorkspaceMethod]: { method: M } & DeviceParams<M>;
}[WorkspaceMethod];

export type WorkspaceAnswer =
  WorkspaceOutcome | { kind: "offline"; message: string } | { kind: "timeout"; message: string };

/** A device RPC answer as a workspace answer: the device's outcome, or why there was none. */
export function workspaceAnswer(answer: DeviceAnswer): WorkspaceAnswer {
  if (answer.ok) return answer.result as WorkspaceOutcome;
  switch (answer.code) {
    case "device_offline":
      return { kind: "offline", message: answer.message };
    case "timeout":
      return { kind: "timeout", message: answer.message };
    default:
      // An executor that cannot answer the method, or whose answer failed its schema.
      return { kind: "error", code: "internal_error", message: answer.message };
  }
}
