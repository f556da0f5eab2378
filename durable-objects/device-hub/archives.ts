import type { DeviceParams, WorkspaceOutcome } from "@wegent/protocol";
import type { Tracer } from "../../edge/telemetry/tracer";
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

/** The hub's span names: an archive, a restore (from R2 or the device's own snapshot), a cleanup. */
const SPAN_NAMES: Record<WorkspaceMethod, string> = {
  "workspace.archive": "DeviceHub archive",
  "workspace.restore": "DeviceHub restore",
  "workspace.restore_snapshot": "DeviceHub restore",
  "workspace.cleanup": "DeviceHub workspace cleanup",
};

/** What an answer says, as allow-listed attributes: its outcome, sizes and file counts. */
function answerAttributes(answer: WorkspaceAnswer): Record<string, unknown> {
  switch (answer.kind) {
    case "archived":
      return {
        "wegent.archive_outcome": "archived",
        "wegent.bytes": answer.archive.size,
        "wegent.files": answer.archive.files,
      };
    case "restored":
      return {
        "wegent.archive_outcome": "restored",
        "wegent.files": answer.files,
        ...(answer.place ? { "wegent.workspace_kind": answer.place } : {}),
      };
    case "cleanup":
      return {
        "wegent.archive_outcome": "cleaned",
        "wegent.bytes": answer.report.totalBytes,
      };
    case "forgotten":
      return { "wegent.archive_outcome": "forgotten" };
    case "error":
      return { "wegent.archive_outcome": "error", "wegent.failure_code": answer.code };
    case "offline":
    case "timeout":
      return { "wegent.archive_outcome": "error", "wegent.failure_code": answer.kind };
  }
}

/**
 * The hub's span of one workspace request (child of the Worker's request span, parent of the
 * executor's): null when tracing is off. Its `traceparent` goes on the `device:request` frame.
 */
export function workspaceSpan(
  tracer: Tracer,
  ask: WorkspaceAsk,
  parent: string | undefined,
): { traceparent: string | undefined; end(answer: WorkspaceAnswer): void } | null {
  if (!tracer.enabled) return null;
  const startMs = Date.now();
  const span = tracer.start(SPAN_NAMES[ask.method], {
    parent,
    kind: 3,
    attributes: {
      ...("taskId" in ask ? { "wegent.task_id": ask.taskId } : {}),
      // A restore from the R2 archive (its size) or from the device's own snapshot.
      ...(ask.method === "workspace.restore"
        ? { "wegent.bytes": ask.size, "wegent.stage": "archive" }
        : {}),
      ...(ask.method === "workspace.restore_snapshot" ? { "wegent.stage": "snapshot" } : {}),
    },
  });
  return {
    traceparent: span.traceparent,
    end(answer) {
      const endMs = Date.now();
      span.end(
        { ...answerAttributes(answer), "wegent.duration_ms": endMs - startMs },
        endMs,
        answer.kind === "error" || answer.kind === "offline" || answer.kind === "timeout",
      );
    },
  };
}
