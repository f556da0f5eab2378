// The parts of the Claude runtime that need no model: preflight, the agent's environment,
// tool result summaries, killing a process tree, and the fake model API's own contract.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeModel, promptAndStep, text } from "../../e2e/fake-model/server";
import { agentEnvironment } from "../src/runtime/claude/env";
import { createClaudeRuntime } from "../src/runtime/claude/runtime";
import { ReplyStream, truncateSummary } from "../src/runtime/claude/events";
import { findClaudeExecutable } from "../src/runtime/claude/preflight";
import { isAlive, killTree, listDescendants } from "../src/system/process-tree";
import type { ProgressEvent } from "@wegent/protocol";
import { DEVICE_TOKEN, fakeMachineEnv, request, taskDirs, waitFor } from "./runtime-helpers";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("preflight", () => {
  it("is ready with the Claude Code binary and an API key", async () => {
    expect(findClaudeExecutable()).toMatch(/claude$/);
    const runtime = createClaudeRuntime({ baseEnv: fakeMachineEnv("http://127.0.0.1:9") });
    expect(await runtime.preflight()).toBeNull();
  });

  it("says credentials_missing, and how to fix it, without a key or token", async () => {
    const env = fakeMachineEnv("http://127.0.0.1:9");
    delete env.ANTHROPIC_API_KEY;
    const runtime = createClaudeRuntime({ baseEnv: env });
    const problem = await runtime.preflight();
    expect(problem?.code).toBe("credentials_missing");
    expect(problem?.message).toContain("export ANTHROPIC_API_KEY=");
    expect(problem?.message).toContain("wegent-executor");
  });

  it("accepts ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN instead of an API key", async () => {
    for (const name of ["ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"]) {
      const env = fakeMachineEnv("http://127.0.0.1:9");
      delete env.ANTHROPIC_API_KEY;
      env[name] = "a-token";
      expect(await createClaudeRuntime({ baseEnv: env }).preflight()).toBeNull();
    }
  });

  it("says runtime_missing when the Claude Code binary is not there", async () => {
    const runtime = createClaudeRuntime({
      baseEnv: fakeMachineEnv("http://127.0.0.1:9"),
      pathToClaudeCodeExecutable: "/nonexistent/claude",
    });
    const problem = await runtime.preflight();
    expect(problem?.code).toBe("runtime_missing");
    expect(problem?.message).toContain("/nonexistent/claude");
  });

  it("a run that cannot start fails with the preflight's code instead of starting", async () => {
    const env = fakeMachineEnv("http://127.0.0.1:9");
    delete env.ANTHROPIC_API_KEY;
    const d = taskDirs();
    cleanups.push(d.remove);
    const outcome = await createClaudeRuntime({ baseEnv: env }).run(
      request(d, "hello"),
      () => undefined,
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ ok: false, code: "credentials_missing", text: "" });
  });

  it.runIf(process.getuid?.() === 0)(
    "as root with bypassPermissions, asks for IS_SANDBOX=1 or a normal user",
    async () => {
      const env = fakeMachineEnv("http://127.0.0.1:9");
      delete env.IS_SANDBOX;
      const problem = await createClaudeRuntime({ baseEnv: env }).preflight();
      expect(problem?.code).toBe("agent_error");
      expect(problem?.message).toContain("IS_SANDBOX=1");
      // acceptEdits is allowed as root.
      const edits = createClaudeRuntime({ baseEnv: env, permissionMode: "acceptEdits" });
      expect(await edits.preflight()).toBeNull();
    },
  );
});

describe("the agent's environment", () => {
  it("has PATH, LANG, the task's HOME and TMPDIR and model settings, never WEGENT_*", () => {
    const env = agentEnvironment(
      {
        ...fakeMachineEnv("http://127.0.0.1:9"),
        ANTHROPIC_MODEL: "claude-test",
        CLAUDE_CODE_OAUTH_TOKEN: "oauth",
        DISABLE_TELEMETRY: "1",
        HOME: "/root",
        TMPDIR: "/var/tmp",
        USER: "root",
        SSH_AUTH_SOCK: "/tmp/agent.sock",
        AWS_SECRET_ACCESS_KEY: "aws",
      },
      { homeDir: "/tasks/t1/home", tmpDir: "/tasks/t1/tmp" },
      "wegent-executor/test",
    );
    expect(env).toEqual({
      PATH: process.env.PATH,
      LANG: "C.UTF-8",
      HOME: "/tasks/t1/home",
      TMPDIR: "/tasks/t1/tmp",
      ANTHROPIC_API_KEY: "test-key-for-the-fake-model",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
      ANTHROPIC_MODEL: "claude-test",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "0",
      CLAUDE_CODE_OAUTH_TOKEN: "oauth",
      DISABLE_TELEMETRY: "1",
      IS_SANDBOX: "1",
      CLAUDE_AGENT_SDK_CLIENT_APP: "wegent-executor/test",
    });
    expect(JSON.stringify(env)).not.toContain(DEVICE_TOKEN);
  });
});

describe("tool result summaries", () => {
  it("keeps short output whole and marks long output as truncated", () => {
    expect(truncateSummary("short")).toBe("short");
    const long = "x".repeat(5000);
    const summary = truncateSummary(long);
    expect(summary.startsWith("x".repeat(2000))).toBe(true);
    expect(summary).toContain("[truncated: 3000 more characters]");
    expect(summary.length).toBeLessThan(2100);
  });

  it("summarises a tool_result with text and image parts", () => {
    const events: ProgressEvent[] = [];
    new ReplyStream((e) => events.push(e)).handle({
      type: "user",
      message: {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            is_error: true,
            content: [
              { type: "text", text: "y".repeat(3000) },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } },
            ],
          },
        ],
      },
      parent_tool_use_id: null,
      session_id: "s",
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "tool_result", toolUseId: "toolu_1", isError: true });
    const summary = events[0]?.kind === "tool_result" ? events[0].summary : "";
    expect(summary).toContain("[truncated:");
    expect(summary.length).toBeLessThanOrEqual(16 * 1024);
  });
});

describe("killing a process tree", () => {
  it.runIf(process.platform === "linux")(
    "kills a child that escaped into its own session, and its children",
    async () => {
      // sh → setsid sh → sleep: like Claude Code's Bash tool, the inner shell leaves the group.
      const root = spawn("sh", ["-c", "setsid sh -c 'sleep 301 & sleep 302; wait' & wait"], {
        stdio: "ignore",
      });
      cleanups.push(() => {
        if (root.pid !== undefined && isAlive(root.pid)) root.kill("SIGKILL");
      });
      const rootPid = root.pid;
      expect(rootPid).toBeDefined();
      if (rootPid === undefined) return;
      const descendants = await waitFor(
        "both sleeps",
        () => {
          const found = listDescendants(rootPid).map((ref) => ref.pid);
          // The inner shell and both sleeps.
          return found.length >= 3 ? found : null;
        },
        5000,
      );
      cleanups.push(() => {
        for (const pid of descendants) if (isAlive(pid)) process.kill(pid, "SIGKILL");
      });
      const startedAt = performance.now();
      await killTree(rootPid);
      const ms = performance.now() - startedAt;
      await waitFor("the root to be reaped", () => root.exitCode !== null || root.signalCode, 2000);
      expect(descendants.filter((pid) => isAlive(pid) && !isZombie(pid))).toEqual([]);
      expect(ms).toBeLessThan(1000);
    },
    15_000,
  );
});

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

describe("the fake model API", () => {
  it("finds the latest prompt and how many answers it already got", () => {
    expect(
      promptAndStep([
        { role: "user", content: "first" },
        { role: "assistant", content: [{ type: "text", text: "ok" }] },
        { role: "user", content: [{ type: "text", text: "second" }] },
        { role: "assistant", content: [{ type: "tool_use" }] },
        { role: "user", content: [{ type: "tool_result" }] },
      ]),
    ).toEqual({ prompt: "second", step: 1 });
  });

  it("streams scripted SSE, answers count_tokens, and records requests", async () => {
    const fake = await startFakeModel();
    cleanups.push(() => fake.close());
    fake.on("hi", [{ blocks: [text("a", "b")] }]);
    const res = await fetch(`${fake.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const body = await res.text();
    const names = [...body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const count = await fetch(`${fake.url}/v1/messages/count_tokens`, {
      method: "POST",
      body: JSON.stringify({ messages: [] }),
    });
    expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    expect(fake.requests.map((r) => r.path)).toEqual(["/v1/messages", "/v1/messages/count_tokens"]);
    expect(fake.requests[0]?.answeredBy).toBe("hi#0");
  });

  it("runs standalone and prints its URL", async () => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("../../e2e/fake-model/server.ts", import.meta.url))],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    cleanups.push(() => void child.kill("SIGKILL"));
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no URL within 5 s")), 5000);
      child.stdout.once("data", (chunk: Buffer) => {
        clearTimeout(timer);
        resolve(chunk.toString("utf8"));
      });
    });
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/v1/messages`, {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(200);
  });

  it("times a tool call from its announcement to its result", async () => {
    const events: ProgressEvent[] = [];
    const stream = new ReplyStream((e) => events.push(e));
    stream.handle({
      type: "assistant",
      message: {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_9", name: "Bash", input: { command: "sleep 1" } }],
      },
      parent_tool_use_id: null,
      session_id: "s",
    } as unknown as Parameters<ReplyStream["handle"]>[0]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    stream.handle({
      type: "user",
      message: {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "ok" }],
      },
      parent_tool_use_id: null,
      session_id: "s",
    } as unknown as Parameters<ReplyStream["handle"]>[0]);
    const result = events.find((e) => e.kind === "tool_result");
    const ms = result?.kind === "tool_result" ? (result.durationMs ?? -1) : -1;
    expect(ms).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(5000);
  });
});
