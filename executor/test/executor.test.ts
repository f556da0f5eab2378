import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { TaskExecute } from "@wegent/protocol";
import { Executor, type ExecutorExit, type ExecutorOptions } from "../src/executor";
import type { Logger } from "../src/log";
import { FakeHub } from "./fake-hub";
import { ScriptedRuntime, textEvent } from "./scripted-runtime";

const DEVICE_ID = "0123456789abcdef0123456789abcdef";
const TOKEN = "test-token-abcdefghijklmnopqrstuvwxyz";

interface Harness {
  hub: FakeHub;
  runtime: ScriptedRuntime;
  executor: Executor;
  exit: Promise<ExecutorExit>;
  logs: { level: string; message: string }[];
  home: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  overrides: Partial<ExecutorOptions> = {},
  prepare?: (hub: FakeHub, runtime: ScriptedRuntime) => void,
): Promise<Harness> {
  const hub = await FakeHub.start();
  const runtime = new ScriptedRuntime();
  prepare?.(hub, runtime);
  const home = mkdtempSync(join(tmpdir(), "wegent-exec-"));
  const logs: Harness["logs"] = [];
  const capture = (level: string) => (message: string) => void logs.push({ level, message });
  const log: Logger = {
    debug: capture("debug"),
    info: capture("info"),
    warn: capture("warn"),
    error: capture("error"),
  };
  const executor = new Executor({
    backendUrl: hub.url,
    token: TOKEN,
    deviceType: "local",
    deviceId: DEVICE_ID,
    deviceName: "Linux - test-box",
    platform: "linux-x64",
    version: "9.9.9",
    maxSlots: 2,
    workspaceRoot: join(home, "workspaces"),
    homeDir: home,
    stopTimeoutMs: 200,
    runtimes: [runtime],
    log,
    timings: {
      pingIntervalMs: 40,
      pongTimeoutMs: 300,
      heartbeatIntervalMs: 60,
      backoffBaseMs: 10,
      backoffCapMs: 50,
      reconnectSpreadMs: 50,
      reconnectBlipSpreadMs: 50,
      outageCapMs: 50,
      outageFastMs: 1000,
      handshakeTimeoutMs: 2000,
      finalAckWaitMs: 500,
      abortWaitMs: 500,
    },
    ...overrides,
  });
  const exit = executor.run();
  cleanups.push(async () => {
    await executor.stop();
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 2000))]);
    await hub.stop();
    rmSync(home, { recursive: true, force: true });
  });
  return { hub, runtime, executor, exit, logs, home };
}

async function registered(h: Harness, connection = 1): Promise<void> {
  await h.hub.until(
    () => h.hub.connectionCount >= connection && h.executor.registered,
    `registration #${connection}`,
  );
}

function execute(taskId = randomUUID(), messageId = randomUUID()): TaskExecute {
  return {
    type: "task:execute",
    taskId,
    messageId,
    prompt: "hello",
    resumeSessionId: null,
    projectId: null,
    runtime: "claude-code",
    permissionMode: "bypassPermissions",
    attempt: 1,
  };
}

function exitWithin(exit: Promise<ExecutorExit>, ms = 3000): Promise<ExecutorExit> {
  return Promise.race([
    exit,
    new Promise<ExecutorExit>((_, reject) =>
      setTimeout(() => reject(new Error("executor did not stop")), ms),
    ),
  ]);
}

describe("executor connection", () => {
  it("registers with headers, never the token in the URL, and the right frame", async () => {
    const h = await setup();
    await registered(h);
    const upgrade = h.hub.upgrades[0];
    expect(upgrade?.url).toBe("/api/devices/connect");
    expect(upgrade?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(upgrade?.headers["x-device-id"]).toBe(DEVICE_ID);
    expect(h.hub.framesOf("device:register")[0]).toEqual({
      type: "device:register",
      deviceId: DEVICE_ID,
      name: "Linux - test-box",
      platform: "linux-x64",
      executorVersion: "9.9.9",
      maxSlots: 2,
      deviceType: "local",
      runtimes: ["claude-code"],
      runningTaskIds: [],
      projects: [],
      commands: [],
      capabilities: {
        digest: null,
        error: null,
        // What device-config.json lets managed MCP servers do (nothing managed yet).
        policy: { permissionMode: "bypassPermissions", stdio: true, env: [], skipped: [] },
      },
    });
    // Keep-alive: text pings and heartbeats while registered.
    await h.hub.until(
      () => h.hub.pings.length >= 2 && h.hub.framesOf("device:heartbeat").length >= 1,
      "pings and heartbeat",
    );
  });

  it("reports what Claude Code offers in the claude-code entry of runtimeInfo, again only when it changed", async () => {
    const h = await setup({}, (_hub, runtime) => {
      runtime.describe = () =>
        Promise.resolve({
          id: "claude-code" as const,
          version: "2.0.0",
          auth: { kind: "api_key" as const, label: "API key" },
          models: [],
          commands: [],
          problem: null,
        });
    });
    await registered(h);
    expect(h.hub.framesOf("device:register")[0]?.runtimeInfo?.[0]).toMatchObject({
      id: "claude-code",
      models: [],
      commands: [],
    });
    const offers = {
      models: [{ value: "sonnet", displayName: "Sonnet", description: "" }],
      commands: [{ name: "foo", description: "Foo", argumentHint: "<file>" }],
    };
    h.executor.reportOffers(offers);
    await h.hub.until(
      () => h.hub.framesOf("device:heartbeat").some((f) => f.runtimeInfo !== undefined),
      "a heartbeat with runtimeInfo",
    );
    const sent = h.hub.framesOf("device:heartbeat").filter((f) => f.runtimeInfo !== undefined);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.runtimeInfo).toEqual([
      {
        id: "claude-code",
        version: "2.0.0",
        auth: { kind: "api_key", label: "API key" },
        ...offers,
        problem: null,
      },
    ]);
    expect(sent[0]).not.toHaveProperty("claudeCode");
    // The same offers again: nothing new to send.
    h.executor.reportOffers(offers);
    const beats = h.hub.framesOf("device:heartbeat").length;
    await h.hub.until(() => h.hub.framesOf("device:heartbeat").length >= beats + 2, "heartbeats");
    expect(
      h.hub.framesOf("device:heartbeat").filter((f) => f.runtimeInfo !== undefined),
    ).toHaveLength(1);
  });

  it("registers without the runtime when preflight fails, and as cloud in cloud mode", async () => {
    const h = await setup({ deviceType: "cloud" }, (_hub, runtime) => {
      runtime.preflightProblem = { code: "credentials_missing", message: "log in to Claude" };
    });
    await registered(h);
    expect(h.hub.framesOf("device:register")[0]).toMatchObject({
      runtimes: [],
      deviceType: "cloud",
    });
  });

  it("stops with a clear message when the token is refused with 401 token_expired", async () => {
    const h = await setup({}, (hub) => {
      hub.refuse = {
        status: 401,
        body: {
          error: {
            code: "token_expired",
            message:
              "This API token expired on 2025-01-31T00:00:00.000Z. Generate a new one in Settings → API Token.",
          },
        },
      };
    });
    const exit = await exitWithin(h.exit);
    expect(exit.exitCode).toBe(1);
    expect(exit.message).toMatch(/expired on 2025-01-31/);
    expect(exit.message).toMatch(/Settings → API Token/);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.hub.upgrades).toHaveLength(1);
  });

  it("keeps retrying other HTTP refusals", async () => {
    const h = await setup({}, (hub) => {
      hub.refuse = { status: 503, body: { error: { code: "unavailable", message: "try later" } } };
    });
    await h.hub.until(() => h.hub.upgrades.length >= 3, "three attempts");
    h.hub.refuse = null;
    await registered(h);
  });

  it("stops when the device is removed (close 4004) and does not reconnect", async () => {
    const h = await setup();
    await registered(h);
    h.hub.closeCurrent(4004, "device removed");
    const exit = await exitWithin(h.exit);
    expect(exit.exitCode).toBe(1);
    expect(exit.message).toMatch(/removed in the web UI/);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.hub.upgrades).toHaveLength(1);
  });

  it("stops when another executor took over (close 4009)", async () => {
    const h = await setup();
    await registered(h);
    h.hub.closeCurrent(4009, "replaced");
    const exit = await exitWithin(h.exit);
    expect(exit.exitCode).toBe(1);
    expect(exit.message).toMatch(/took over/);
  });

  it("reconnects after an ordinary close and after silence (no pong)", async () => {
    const h = await setup();
    await registered(h);
    h.hub.closeCurrent(4010, "ping timeout");
    await registered(h, 2);
    h.hub.answerPings = false;
    await h.hub.until(() => h.hub.connectionCount >= 3, "reconnect after silence", 3000);
    expect(h.logs.some((l) => l.level === "warn" && /no answer/.test(l.message))).toBe(true);
  });

  it("warns once when the token expires within two days", async () => {
    const soon = new Date(Date.now() + 24 * 3600_000).toISOString();
    const h = await setup({}, (hub) => {
      hub.registered = { tokenExpiresAt: soon };
    });
    await registered(h);
    const warnings = h.logs.filter((l) => l.level === "warn" && l.message.includes(soon));
    expect(warnings).toHaveLength(1);
  });

  it("ignores bad frames from the hub", async () => {
    const h = await setup();
    await registered(h);
    h.hub.current?.send("{not json");
    h.hub.current?.send(JSON.stringify({ type: "task:execute", taskId: "nope" }));
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "task started after bad frames");
    expect(h.logs.filter((l) => /bad frame/.test(l.message))).toHaveLength(2);
  });
});

describe("executor tasks", () => {
  it("accepts, streams progress with seqs, completes, and uses per-task folders", async () => {
    const h = await setup();
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "run started");
    expect(h.hub.framesOf("task:accepted")).toEqual([
      { type: "task:accepted", taskId: frame.taskId, messageId: frame.messageId },
    ]);
    const run = h.runtime.get(frame.messageId);
    expect(run.request.workspaceDir).toBe(join(h.home, "workspaces", frame.taskId));
    expect(run.request.homeDir).toBe(join(h.home, "tasks", frame.taskId, "home"));
    expect(run.request.tmpDir).toBe(join(h.home, "tasks", frame.taskId, "tmp"));
    for (const dir of [run.request.workspaceDir, run.request.homeDir, run.request.tmpDir]) {
      expect(statSync(dir).isDirectory()).toBe(true);
    }
    run.emit(textEvent(0, "Hel"));
    run.emit(textEvent(3, "lo"));
    run.finish({ ok: true, text: "Hello", sessionId: "s-1", usage: null, costUsd: 0.01 });
    await h.hub.until(() => h.hub.framesOf("task:complete").length === 1, "complete");
    expect(h.hub.outputOf(frame.messageId).map((f) => [f.seq, f.type])).toEqual([
      [1, "task:progress"],
      [2, "task:progress"],
      [3, "task:complete"],
    ]);
    expect(h.hub.framesOf("task:complete")[0]).toMatchObject({
      text: "Hello",
      sessionId: "s-1",
      costUsd: 0.01,
    });
    await h.hub.until(() => h.executor.unackedFrames === 0, "acks trim the outbox");
  });

  it("keeps a task's folders private (0700) under a --workspace that others can list", async () => {
    const shared = mkdtempSync(join(tmpdir(), "wegent-shared-ws-"));
    chmodSync(shared, 0o755);
    cleanups.push(async () => rmSync(shared, { recursive: true, force: true }));
    const h = await setup({ workspaceRoot: join(shared, "workspaces") });
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "run started");
    const run = h.runtime.get(frame.messageId);
    for (const dir of [run.request.workspaceDir, join(shared, "workspaces")]) {
      expect((statSync(dir).mode & 0o777).toString(8), dir).toBe("700");
    }
    run.finish({ ok: true, text: "ok", sessionId: "s-1", usage: null, costUsd: 0 });
    await h.hub.until(() => h.hub.framesOf("task:complete").length === 1, "complete");
  });

  it("re-sends after a dropped socket with no gap and no duplicate, and acks trim the outbox", async () => {
    const h = await setup({}, (hub) => {
      hub.autoAck = false; // the hub stores frames but its acks are lost
    });
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "run started");
    const run = h.runtime.get(frame.messageId);
    run.emit(textEvent(0, "a"));
    run.emit(textEvent(1, "b"));
    run.emit(textEvent(2, "c"));
    await h.hub.until(() => h.hub.outputOf(frame.messageId).length === 3, "first three frames");
    expect(h.executor.unackedFrames).toBe(3);

    h.hub.cut();
    await h.hub.until(() => !h.executor.registered, "executor noticed the cut");
    // The agent keeps running while the socket is down.
    run.emit(textEvent(3, "d"));
    run.emit(textEvent(4, "e"));
    run.finish({ ok: true, text: "abcde", sessionId: null, usage: null, costUsd: null });
    await new Promise((resolve) => setTimeout(resolve, 20));

    await registered(h, 2);
    await h.hub.until(() => h.hub.outputOf(frame.messageId).length === 6, "re-sent frames");
    const output = h.hub.outputOf(frame.messageId);
    expect(output.filter((f) => f.connection === 1).map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(output.filter((f) => f.connection === 2).map((f) => [f.seq, f.type])).toEqual([
      [4, "task:progress"],
      [5, "task:progress"],
      [6, "task:complete"],
    ]);
    // The resume point acked 1..3; the rest waits for the hub's ack.
    expect(h.executor.unackedFrames).toBe(3);
    h.hub.send({ type: "task:ack", taskId: frame.taskId, messageId: frame.messageId, seq: 5 });
    await h.hub.until(() => h.executor.unackedFrames === 1, "ack 5 trims to one frame");
    h.hub.send({ type: "task:ack", taskId: frame.taskId, messageId: frame.messageId, seq: 6 });
    await h.hub.until(() => h.executor.unackedFrames === 0, "ack 6 empties the outbox");

    // Another drop now re-sends nothing: everything was acknowledged.
    h.hub.cut();
    await registered(h, 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.hub.outputOf(frame.messageId)).toHaveLength(6);
  });

  it("stops a run the hub no longer lists after a reconnect, and drops its frames", async () => {
    const h = await setup({}, (hub) => {
      hub.autoAck = false;
    });
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "run started");
    const run = h.runtime.get(frame.messageId);
    run.emit(textEvent(0, "a"));
    await h.hub.until(() => h.hub.outputOf(frame.messageId).length === 1, "one frame");
    h.hub.stored.clear(); // the hub failed the message during the grace
    h.hub.cut();
    await registered(h, 2);
    await h.hub.until(() => run.signal.aborted, "local run aborted");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.hub.outputOf(frame.messageId).filter((f) => f.connection === 2)).toEqual([]);
    expect(h.executor.unackedFrames).toBe(0);
  });

  it("buffers frames produced before the first registration of a reconnect until registered", async () => {
    const h = await setup({}, (hub) => {
      hub.autoAck = true;
    });
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "run started");
    h.hub.cut();
    await h.hub.until(() => !h.executor.registered, "down");
    const run = h.runtime.get(frame.messageId);
    run.emit(textEvent(0, "x"));
    await registered(h, 2);
    expect(h.hub.framesOf("device:register")[1]?.runningTaskIds).toEqual([frame.taskId]);
    await h.hub.until(
      () => h.hub.outputOf(frame.messageId).length === 1,
      "buffered frame delivered",
    );
    expect(h.hub.outputOf(frame.messageId)[0]).toMatchObject({ connection: 2, seq: 1 });
  });

  it("accepts a duplicate execute but never starts it twice", async () => {
    const h = await setup();
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    h.hub.send({ ...frame, attempt: 2 });
    await h.hub.until(() => h.hub.framesOf("task:accepted").length === 2, "two accepts");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.runtime.started).toHaveLength(1);
  });

  it("cancels a running task: failed with code cancelled", async () => {
    const h = await setup();
    await registered(h);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.runtime.runs.has(frame.messageId), "run started");
    h.runtime.get(frame.messageId).emit(textEvent(0, "partial"));
    h.hub.send({ type: "task:cancel", taskId: frame.taskId, messageId: null, reason: "user" });
    await h.hub.until(() => h.hub.framesOf("task:failed").length === 1, "failed");
    expect(h.runtime.get(frame.messageId).signal.reason).toBe("cancelled");
    expect(h.hub.framesOf("task:failed")[0]).toMatchObject({
      code: "cancelled",
      seq: 2,
      text: "partial",
    });
  });

  it("remembers a cancel that arrives before its execute", async () => {
    const h = await setup();
    await registered(h);
    const frame = execute();
    h.hub.send({
      type: "task:cancel",
      taskId: frame.taskId,
      messageId: frame.messageId,
      reason: "user",
    });
    h.hub.send(frame);
    await h.hub.until(() => h.hub.framesOf("task:failed").length === 1, "failed");
    expect(h.hub.framesOf("task:accepted")).toHaveLength(1);
    expect(h.hub.framesOf("task:failed")[0]).toMatchObject({
      messageId: frame.messageId,
      code: "cancelled",
      seq: 1,
    });
    expect(h.runtime.started).toHaveLength(0);
  });

  it("fails at once with the preflight's code when the runtime is not ready", async () => {
    const h = await setup();
    await registered(h);
    h.runtime.preflightProblem = {
      code: "credentials_missing",
      message: "Run `claude login` on this device.",
    };
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.hub.framesOf("task:failed").length === 1, "failed");
    expect(h.hub.framesOf("task:failed")[0]).toMatchObject({
      code: "credentials_missing",
      message: "Run `claude login` on this device.",
      seq: 1,
    });
    expect(h.runtime.started).toHaveLength(0);
  });

  it("refuses beyond max slots locally with internal_error", async () => {
    const h = await setup();
    await registered(h);
    const frames = [execute(), execute(), execute()];
    for (const frame of frames) h.hub.send(frame);
    await h.hub.until(() => h.hub.framesOf("task:failed").length === 1, "third refused");
    expect(h.hub.framesOf("task:failed")[0]).toMatchObject({
      messageId: frames[2]?.messageId,
      code: "internal_error",
    });
    await h.hub.until(() => h.runtime.started.length === 2, "two runs started");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedIds = h.runtime.started.map((r) => r.messageId).sort();
    expect(startedIds).toEqual([frames[0]?.messageId, frames[1]?.messageId].sort());
  });
});

describe("graceful stop", () => {
  it("says goodbye, aborts what outlives the stop timeout with executor_stopped, and exits 0", async () => {
    const h = await setup({ stopTimeoutMs: 150 });
    await registered(h);
    const quick = execute();
    const slow = execute();
    h.hub.send(quick);
    h.hub.send(slow);
    await h.hub.until(() => h.runtime.runs.size === 2, "both running");
    const stopped = h.executor.stop();
    await h.hub.until(() => h.hub.framesOf("device:goodbye").length === 1, "goodbye");
    // A task that ends within the stop timeout completes normally.
    h.runtime
      .get(quick.messageId)
      .finish({ ok: true, text: "done", sessionId: null, usage: null, costUsd: null });
    // New work after goodbye is answered, not started.
    const late = execute();
    h.hub.send(late);
    await stopped;
    const exit = await exitWithin(h.exit);
    expect(exit.exitCode).toBe(0);
    expect(h.runtime.get(slow.messageId).signal.reason).toBe("executor_stopped");
    expect(h.hub.outputOf(quick.messageId).map((f) => f.type)).toEqual(["task:complete"]);
    expect(h.hub.framesOf("task:failed").find((f) => f.messageId === slow.messageId)).toMatchObject(
      { code: "executor_stopped", seq: 1 },
    );
    expect(h.hub.framesOf("task:failed").find((f) => f.messageId === late.messageId)).toMatchObject(
      { code: "executor_stopped" },
    );
    expect(h.runtime.started).toHaveLength(2);
    expect(h.executor.unackedFrames).toBe(0);
    await h.hub.until(() => h.hub.closes.some((c) => c.code === 1000), "close 1000");
  });

  it("stops at once when nothing runs", async () => {
    const h = await setup();
    await registered(h);
    const started = Date.now();
    await h.executor.stop();
    expect((await exitWithin(h.exit)).exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("local work through the executor", () => {
  it("advertises projects, sends changes with a heartbeat, answers device requests", async () => {
    const { execFileSync } = await import("node:child_process");
    const { writeFileSync } = await import("node:fs");
    const { LocalWork } = await import("../src/local/local-work");
    const project = mkdtempSync(join(tmpdir(), "wegent-proj-"));
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: project });
    const homes = [
      mkdtempSync(join(tmpdir(), "wegent-home-")),
      mkdtempSync(join(tmpdir(), "wegent-user-")),
    ];
    cleanups.push(async () => {
      for (const dir of [project, ...homes]) rmSync(dir, { recursive: true, force: true });
    });
    const local = new LocalWork({
      deviceId: DEVICE_ID,
      settings: { projects: [project], projectsRoot: null },
      homeDir: homes[0]!,
      userEnv: { HOME: homes[1]! },
    });
    const h = await setup({ local });
    await registered(h);
    const [advertised] = h.hub.framesOf("device:register")[0]!.projects;
    expect(advertised).toMatchObject({ name: project.split("/").pop(), git: true, dirty: false });
    writeFileSync(join(project, "new.txt"), "x");
    await h.hub.until(
      () => h.hub.framesOf("device:heartbeat").some((f) => f.projects?.[0]?.dirty === true),
      "a heartbeat with the dirty project",
    );
    const requestId = randomUUID();
    h.hub.send({
      type: "device:request",
      requestId,
      method: "sessions.list",
      params: { projectId: advertised!.id },
    });
    await h.hub.until(
      () => h.hub.framesOf("device:response").some((f) => f.requestId === requestId),
      "the response",
    );
    expect(h.hub.framesOf("device:response")[0]).toMatchObject({
      ok: true,
      result: { sessions: [] },
    });
    // A task naming a project this executor never advertised is refused, not run anywhere.
    const frame = { ...execute(), projectId: "p_notadvertised00" };
    h.hub.send(frame);
    await h.hub.until(
      () => h.hub.framesOf("task:failed").some((f) => f.messageId === frame.messageId),
      "the refusal",
    );
    expect(h.hub.framesOf("task:failed")[0]).toMatchObject({ code: "project_unavailable" });
    expect(h.runtime.started).toHaveLength(0);
  });
});

describe("managed capabilities", () => {
  const frame = {
    type: "device:capabilities" as const,
    digest: "d".repeat(64),
    skills: [],
    mcpServers: [],
    runtime: {
      model: null,
      permissionMode: null,
      maxTurns: 7,
      appendSystemPrompt: "Be brief.",
      agentEnv: [],
      stallSeconds: 600,
      maxRunMinutes: null,
    },
  };

  it("applies them, reports the digest at once, and gives them to the next message", async () => {
    const h = await setup();
    await registered(h);
    h.hub.send(frame);
    await h.hub.until(
      () =>
        h.hub
          .framesOf("device:heartbeat")
          .some(
            (f) =>
              (f as { capabilities?: { digest: string | null } }).capabilities?.digest ===
              frame.digest,
          ),
      "heartbeat with the applied digest",
    );
    const task = execute();
    h.hub.send(task);
    await h.hub.until(() => h.runtime.runs.has(task.messageId), "run started");
    expect(h.runtime.get(task.messageId).request.capabilities?.runtime).toMatchObject({
      maxTurns: 7,
      appendSystemPrompt: "Be brief.",
    });
  });

  it("are ignored by a cloud executor, which runs other users' tasks", async () => {
    const h = await setup({ deviceType: "cloud" });
    await registered(h);
    h.hub.send(frame);
    const task = execute();
    h.hub.send(task);
    await h.hub.until(() => h.runtime.runs.has(task.messageId), "run started");
    expect(h.runtime.get(task.messageId).request.capabilities).toBeUndefined();
    expect(existsSync(join(h.home, "capabilities", "state.json"))).toBe(false);
  });
});

describe("executor runtimes", () => {
  it("runs each task on the runtime it names, and reports every ready runtime", async () => {
    const claude = new ScriptedRuntime("claude-code");
    const codex = new ScriptedRuntime("codex");
    const h = await setup({ runtimes: [claude, codex] });
    await registered(h);
    expect(h.hub.framesOf("device:register")[0]?.runtimes).toEqual(["claude-code", "codex"]);
    const onCodex = { ...execute(), runtime: "codex" as const };
    const onClaude = execute();
    h.hub.send(onCodex);
    h.hub.send(onClaude);
    await h.hub.until(() => codex.runs.has(onCodex.messageId), "codex run started");
    await h.hub.until(() => claude.runs.has(onClaude.messageId), "claude run started");
    expect(claude.runs.has(onCodex.messageId)).toBe(false);
    expect(codex.runs.has(onClaude.messageId)).toBe(false);
  });

  it("fails a task naming a runtime the device lacks with runtime_missing, naming what it has", async () => {
    const codex = new ScriptedRuntime("codex");
    const h = await setup({ runtimes: [codex] });
    await registered(h);
    expect(h.hub.framesOf("device:register")[0]?.runtimes).toEqual(["codex"]);
    const frame = execute();
    h.hub.send(frame);
    await h.hub.until(() => h.hub.framesOf("task:failed").length === 1, "failed");
    expect(h.hub.framesOf("task:failed")[0]).toMatchObject({
      code: "runtime_missing",
      message: "This device does not run claude-code; it runs codex.",
    });
    expect(codex.runs.size).toBe(0);
  });
});
