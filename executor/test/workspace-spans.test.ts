import { afterEach, describe, expect, it } from "vitest";
import { NO_TRACING, type ExecutorTracing } from "../src/telemetry/types";
import { useTracing } from "../src/telemetry";
import { workspaceSpan } from "../src/workspace/spans";

// The executor's archive/restore spans: named, under the hub's traceparent, with the outcome,
// sizes, file counts and duration only (the allow-list filters in the real span factory).

interface Made {
  name: string;
  parent: string | undefined;
  start: Record<string, unknown>;
  end?: Record<string, unknown>;
  error?: boolean;
}

function recording(): { tracing: ExecutorTracing; made: Made[] } {
  const made: Made[] = [];
  return {
    made,
    tracing: {
      ...NO_TRACING,
      enabled: true,
      span(name, parent, attributes = {}) {
        const m: Made = { name, parent, start: attributes };
        made.push(m);
        return {
          end(more = {}, error = false) {
            m.end = more;
            m.error = error;
          },
        };
      },
    },
  };
}

const HUB = "00-5f1e2d3c4b5a69788796a5b4c3d2e1f0-a1b2c3d4e5f60718-01";

afterEach(() => useTracing(NO_TRACING));

describe("workspace spans", () => {
  it("an archive: its size and file count, under the hub's span", () => {
    const { tracing, made } = recording();
    useTracing(tracing);
    workspaceSpan({ type: "workspace.archive", taskId: "task-1" }, HUB).end({
      kind: "archived",
      archive: { size: 2048, sha256: "a".repeat(64), files: 3, createdAt: "2030-01-01" },
    });
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({
      name: "executor archive",
      parent: HUB,
      start: { "wegent.task_id": "task-1" },
      end: { "wegent.archive_outcome": "archived", "wegent.bytes": 2048, "wegent.files": 3 },
      error: false,
    });
    expect(made[0]!.end!["wegent.duration_ms"]).toBeGreaterThanOrEqual(0);
  });

  it("a restore from R2 and a failed one", () => {
    const { tracing, made } = recording();
    useTracing(tracing);
    workspaceSpan({ type: "workspace.restore", taskId: "task-2", size: 512 }, HUB).end({
      kind: "restored",
      files: 4,
      place: "folder",
    });
    workspaceSpan({ type: "workspace.restore_snapshot", taskId: "task-3" }, undefined).end({
      kind: "error",
      code: "snapshot_missing",
      message: "no snapshot at /home/someone/secret",
    });
    expect(made[0]).toMatchObject({
      name: "executor restore",
      start: { "wegent.stage": "archive", "wegent.bytes": 512 },
      end: {
        "wegent.archive_outcome": "restored",
        "wegent.files": 4,
        "wegent.workspace_kind": "folder",
      },
    });
    expect(made[1]).toMatchObject({
      name: "executor restore",
      start: { "wegent.stage": "snapshot" },
      end: { "wegent.archive_outcome": "error", "wegent.failure_code": "snapshot_missing" },
      error: true,
    });
    // The error's message (it may name a path) is never an attribute.
    expect(JSON.stringify(made)).not.toContain("/home/someone");
  });

  it("does nothing when tracing is off", () => {
    useTracing(NO_TRACING);
    expect(() =>
      workspaceSpan({ type: "workspace.archive", taskId: "t" }, HUB).end({
        kind: "error",
        code: "workspace_missing",
        message: "gone",
      }),
    ).not.toThrow();
  });
});
