import type { WorkspaceOutcome } from "@wegent/protocol";
import { tracing } from "../telemetry";

// The executor's spans of workspace requests (docs/observability.md): children of the hub's
// span whose `traceparent` came on `device:request`. Sizes, file counts, the outcome and the
// duration only; never a path. A no-op when tracing is off.

type Method =
  | "workspace.archive"
  | "workspace.restore"
  | "workspace.restore_snapshot"
  | "workspace.cleanup"
  | "workspace.forget";

const NAMES: Record<Method, string> = {
  "workspace.archive": "executor archive",
  "workspace.restore": "executor restore",
  "workspace.restore_snapshot": "executor restore",
  "workspace.cleanup": "executor workspace cleanup",
  "workspace.forget": "executor workspace forget",
};

function outcomeAttributes(outcome: WorkspaceOutcome): Record<string, unknown> {
  switch (outcome.kind) {
    case "archived":
      return {
        "wegent.archive_outcome": "archived",
        "wegent.bytes": outcome.archive.size,
        "wegent.files": outcome.archive.files,
      };
    case "restored":
      return {
        "wegent.archive_outcome": "restored",
        "wegent.files": outcome.files,
        ...(outcome.place ? { "wegent.workspace_kind": outcome.place } : {}),
      };
    case "cleanup":
      return {
        "wegent.archive_outcome": "cleaned",
        "wegent.bytes": outcome.report.totalBytes,
      };
    case "forgotten":
      return { "wegent.archive_outcome": "forgotten" };
    case "error":
      return { "wegent.archive_outcome": "error", "wegent.failure_code": outcome.code };
  }
}

/** Starts the request's span; `end` records the outcome, its sizes and the duration. */
export function workspaceSpan(
  frame: { type: Method; taskId?: string; size?: number },
  traceparent: string | undefined,
): { end(outcome: WorkspaceOutcome): void } {
  const t = tracing();
  if (!t.enabled || !t.span) return { end() {} };
  const startMs = Date.now();
  const span = t.span(NAMES[frame.type], traceparent, {
    ...(frame.taskId ? { "wegent.task_id": frame.taskId } : {}),
    ...(frame.type === "workspace.restore"
      ? {
          "wegent.stage": "archive",
          ...(frame.size !== undefined ? { "wegent.bytes": frame.size } : {}),
        }
      : {}),
    ...(frame.type === "workspace.restore_snapshot" ? { "wegent.stage": "snapshot" } : {}),
  });
  return {
    end(outcome) {
      span.end(
        { ...outcomeAttributes(outcome), "wegent.duration_ms": Date.now() - startMs },
        outcome.kind === "error",
      );
    },
  };
}
