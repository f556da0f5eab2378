// Workspace archive and restore are spans of the request that asked for them: the Worker's
// request span → `DeviceHub archive` / `DeviceHub restore` (the hub's, its context on
// `device:request`) → `executor archive` / `executor restore`, with the archive's size, the
// file count, the outcome and the duration. Real stack, a loopback OTLP receiver.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskWithMessages, WorkspaceState } from "@wegent/protocol";
import { text, toolUse } from "./fake-model/server";
import { api, type ExecutorProcess, startExecutor, until } from "./harness";
import { spansOfTrace, startTracedStack, type TracedStack } from "./traced-stack";
import { privacyViolations } from "../edge/telemetry/otlp-walk";

const ARCHIVE_TRACE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const ARCHIVE_CALLER = "1122334455667788";
const MOVE_TRACE = "f9e8d7c6b5a4938271605f4e3d2c1b0a";
const MOVE_CALLER = "8877665544332211";
const SECRET_TEXT = "kept in the traced archive";

let stack: TracedStack;
let other: ExecutorProcess | undefined;

beforeAll(async () => {
  stack = await startTracedStack({ username: "archive_traced", otel: {} });
  other = startExecutor({
    origin: stack.platform.origin,
    token: stack.token,
    modelUrl: stack.fake.url,
    env: stack.otelEnv,
  });
  await other.waitFor("registered", 60_000);
}, 180_000);

afterAll(async () => {
  await other?.stop("SIGKILL");
  await stack?.stop();
});

describe("archive and restore spans", () => {
  it("the archive route and a move to another device make hub and executor spans with sizes", async () => {
    const { receiver, platform, fake, user, executor } = stack;
    const as = { cookie: user.cookie };
    fake.on("write the archived notes", [
      {
        blocks: [
          toolUse("Bash", {
            command: `printf '${SECRET_TEXT}' > notes.txt`,
            description: "write",
          }),
        ],
      },
      { blocks: [text("Wrote the notes.")] },
    ]);
    const created = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      ...as,
      body: { message: "Please write the archived notes", target: { deviceId: executor.deviceId } },
    });
    expect(created.status).toBe(201);
    const taskId = created.body.task.id;
    const settled = async (count: number) =>
      until(
        async () => {
          const d = (
            await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${taskId}`, as)
          ).body;
          const last = d.messages.at(-1);
          return d.messages.length >= count && last?.status === "completed" ? d : undefined;
        },
        90_000,
        `task ${taskId} to complete ${count} messages`,
      );
    await settled(2);

    // The owner's Archive: Worker → DeviceHub archive → executor archive.
    const archived = await api<WorkspaceState>(
      platform.origin,
      "POST",
      `/api/tasks/${taskId}/archive`,
      { ...as, headers: { traceparent: `00-${ARCHIVE_TRACE}-${ARCHIVE_CALLER}-01` } },
    );
    expect(archived.status).toBe(200);
    const info = archived.body.archive!;
    const spans = await spansOfTrace(receiver, ARCHIVE_TRACE, [
      "DeviceHub archive",
      "executor archive",
    ]);
    const one = (list: typeof spans, name: string) => list.find((s) => s.name === name)!;
    const request = spans.find((s) => s.parentSpanId === ARCHIVE_CALLER);
    expect(request?.attributes["http.route"]).toBe("/api/tasks/:id/archive");
    const hub = one(spans, "DeviceHub archive");
    expect(hub.parentSpanId).toBe(request!.spanId);
    const ex = one(spans, "executor archive");
    expect(ex.service).toBe("wegent-executor");
    expect(ex.parentSpanId).toBe(hub.spanId);
    for (const span of [hub, ex]) {
      expect(span.attributes).toMatchObject({
        "wegent.task_id": taskId,
        "wegent.archive_outcome": "archived",
        "wegent.bytes": info.size,
        "wegent.files": info.files,
      });
      expect(Number(span.attributes["wegent.duration_ms"])).toBeGreaterThanOrEqual(0);
    }
    expect(info.size).toBeGreaterThan(0);
    // The executor's work sits inside the hub's wait for it.
    expect(ex.startMs).toBeGreaterThanOrEqual(hub.startMs - 50);
    expect(ex.endMs).toBeLessThanOrEqual(hub.endMs + 50);

    // A follow-up to the other device moves the task: the first archives, the other restores,
    // both inside the follow-up's trace.
    fake.on("carry the notes over", [
      { blocks: [toolUse("Bash", { command: "cat notes.txt", description: "read" })] },
      { blocks: [text("Carried over.")] },
    ]);
    const moved = await api(platform.origin, "POST", `/api/tasks/${taskId}/messages`, {
      ...as,
      body: { message: "Please carry the notes over", target: { deviceId: other!.deviceId } },
      headers: { traceparent: `00-${MOVE_TRACE}-${MOVE_CALLER}-01` },
    });
    expect(moved.status).toBe(201);
    await settled(4);
    const move = await spansOfTrace(receiver, MOVE_TRACE, [
      "DeviceHub archive",
      "executor archive",
      "DeviceHub restore",
      "executor restore",
      "executor message",
    ]);
    const moveRequest = move.find((s) => s.parentSpanId === MOVE_CALLER)!;
    expect(moveRequest.attributes["http.route"]).toBe("/api/tasks/:id/messages");
    const hubRestore = one(move, "DeviceHub restore");
    const exRestore = one(move, "executor restore");
    expect(one(move, "DeviceHub archive").parentSpanId).toBe(moveRequest.spanId);
    expect(hubRestore.parentSpanId).toBe(moveRequest.spanId);
    expect(exRestore.parentSpanId).toBe(hubRestore.spanId);
    for (const span of [hubRestore, exRestore]) {
      expect(span.attributes).toMatchObject({
        "wegent.task_id": taskId,
        "wegent.archive_outcome": "restored",
        "wegent.stage": "archive",
      });
      expect(Number(span.attributes["wegent.bytes"])).toBeGreaterThan(0);
      expect(Number(span.attributes["wegent.files"])).toBeGreaterThan(0);
      expect(Number(span.attributes["wegent.duration_ms"])).toBeGreaterThanOrEqual(0);
    }
    // The restore happened before the message ran on the other device.
    expect(exRestore.endMs).toBeLessThanOrEqual(one(move, "executor message").startMs + 50);
    // No path, no file content, no grant in any span.
    expect(
      privacyViolations(receiver.spans(), [SECRET_TEXT, "notes.txt", executor.home, other!.home]),
    ).toEqual([]);
  });
});
