// The Claude Code runtime against the real Claude Code binary and a fake model API.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "../src/sandbox/request-policy";
import { startFakeModel, text, thinking, toolUse } from "../../e2e/fake-model/server";
import type { FakeModel } from "../../e2e/fake-model/server";
import {
  DEVICE_TOKEN,
  offsetsAreConsistent,
  processesOfTask,
  request,
  runAndRecord,
  streamedText,
  cleanUp,
  taskDirs,
  testRuntime,
  waitFor,
} from "./runtime-helpers";
import type { TaskDirs } from "./runtime-helpers";
import type { ProgressEvent } from "@wegent/protocol";

let fake: FakeModel;
const dirsToRemove: TaskDirs[] = [];

function dirs(): TaskDirs {
  const d = taskDirs();
  dirsToRemove.push(d);
  return d;
}

beforeAll(async () => {
  fake = await startFakeModel();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await cleanUp(dirsToRemove);
});

describe("Claude Code runtime (real Claude Code, fake model API)", () => {
  it("streams a reply in several deltas whose concatenation is the final text", async () => {
    fake.on("say hello in pieces", [{ blocks: [text("Hel", "lo, ", "wor", "ld!")] }]);
    const d = dirs();
    const {
      events,
      outcome,
      streamedText: streamed,
    } = await runAndRecord(testRuntime(fake.url), request(d, "say hello in pieces"));
    expect(outcome).toMatchObject({ ok: true, text: "Hello, world!" });
    if (!outcome.ok) return;
    expect(streamed).toBe(outcome.text);
    expect(events.filter((e) => e.kind === "text").length).toBeGreaterThanOrEqual(4);
    expect(offsetsAreConsistent(events)).toBe(true);
    expect(outcome.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(outcome.usage?.inputTokens).toBeGreaterThan(0);
    expect(outcome.usage?.outputTokens).toBeGreaterThan(0);
    expect(outcome.costUsd).toBeGreaterThan(0);
  }, 30_000);

  it("streams thinking, then the reply", async () => {
    fake.on("think first", [
      { blocks: [thinking("Let me ", "think."), text("Thought ", "it over.")] },
    ]);
    const d = dirs();
    const {
      events,
      outcome,
      streamedText: streamed,
    } = await runAndRecord(testRuntime(fake.url), request(d, "think first"));
    expect(outcome).toMatchObject({ ok: true, text: "Thought it over." });
    const thoughts = events.filter((e) => e.kind === "thinking");
    expect(thoughts.map((e) => (e.kind === "thinking" ? e.delta : "")).join("")).toBe(
      "Let me think.",
    );
    // Thinking comes before the first text.
    expect(events.findIndex((e) => e.kind === "thinking")).toBeLessThan(
      events.findIndex((e) => e.kind === "text"),
    );
    expect(streamed).toBe("Thought it over.");
  }, 30_000);

  it("writes a file with the Write tool and replies after the tool result", async () => {
    const d = dirs();
    const target = join(d.workspaceDir, "hello.txt");
    fake.on("create hello.txt", [
      {
        blocks: [
          text("I'll create ", "the file."),
          toolUse(
            "Write",
            { file_path: target, content: "Hello from the agent\n" },
            "toolu_write_1",
          ),
        ],
      },
      { blocks: [text("Created ", "hello.txt.")] },
    ]);
    const {
      events,
      outcome,
      streamedText: streamed,
    } = await runAndRecord(testRuntime(fake.url), request(d, "please create hello.txt"));
    expect(outcome.ok).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("Hello from the agent\n");
    // The reply is all the agent's text of the message, blocks separated by a blank line.
    expect(outcome.text).toBe("I'll create the file.\n\nCreated hello.txt.");
    expect(streamed).toBe(outcome.text);
    expect(offsetsAreConsistent(events)).toBe(true);
    const use = events.find((e) => e.kind === "tool_use");
    expect(use).toEqual({
      kind: "tool_use",
      toolUseId: "toolu_write_1",
      name: "Write",
      input: { file_path: target, content: "Hello from the agent\n" },
    });
    const result = events.find((e) => e.kind === "tool_result");
    expect(result).toMatchObject({
      kind: "tool_result",
      toolUseId: "toolu_write_1",
      isError: false,
    });
    // Order: text, tool use, its result, then the text after it.
    const kinds = events.map((e) => e.kind);
    expect(kinds.indexOf("tool_use")).toBeLessThan(kinds.indexOf("tool_result"));
    expect(kinds.lastIndexOf("text")).toBeGreaterThan(kinds.indexOf("tool_result"));
  }, 30_000);

  it("resumes the session on a follow-up: the model sees the earlier turns", async () => {
    fake.on("my favourite fruit is mango", [{ blocks: [text("Noted: ", "mango.")] }]);
    fake.on("what is my favourite fruit", [{ blocks: [text("It is ", "mango.")] }]);
    const d = dirs();
    const runtime = testRuntime(fake.url);
    const first = await runAndRecord(runtime, request(d, "my favourite fruit is mango"));
    expect(first.outcome.ok).toBe(true);
    if (!first.outcome.ok) return;
    const sessionId = first.outcome.sessionId;
    expect(sessionId).not.toBeNull();

    const second = await runAndRecord(
      runtime,
      request(d, "what is my favourite fruit?", sessionId),
    );
    expect(second.outcome).toMatchObject({ ok: true, text: "It is mango.", sessionId });
    expect(second.streamedText).toBe("It is mango.");
    // Claude reports the session's running cost; the outcome carries this message's own.
    expect(first.outcome.costUsd).toBeGreaterThan(0);
    if (!second.outcome.ok) return;
    expect(second.outcome.costUsd).toBeGreaterThan(0);
    expect(second.outcome.costUsd).toBeLessThan((first.outcome.costUsd ?? 0) * 1.5);

    const followUp = fake.requests.find((r) => r.prompt?.includes("what is my favourite fruit"));
    const history = JSON.stringify(followUp?.body ?? null);
    expect(history).toContain("my favourite fruit is mango");
    expect(history).toContain("Noted: mango.");
  }, 45_000);

  it("cancel during a long Bash command kills Claude and everything it started within 1 s", async () => {
    fake.on("run the long command", [
      { blocks: [toolUse("Bash", { command: "echo started && sleep 300", description: "wait" })] },
      { blocks: [text("should never get here")] },
    ]);
    const d = dirs();
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const running = testRuntime(fake.url).run(
      request(d, "run the long command"),
      (e) => events.push(e),
      controller.signal,
    );
    await waitFor(
      "the sleep 300 started by the Bash tool",
      () => processesOfTask(d.homeDir).some((p) => p.cmd === "sleep 300"),
      20_000,
    );
    expect(events.some((e) => e.kind === "tool_use" && e.name === "Bash")).toBe(true);

    const startedAt = performance.now();
    controller.abort("cancelled");
    const outcome = await running;
    const cancelMs = performance.now() - startedAt;
    const left = processesOfTask(d.homeDir);
    console.log(
      `cancel during Bash sleep 300: resolved and tree gone in ${cancelMs.toFixed(0)} ms`,
    );

    expect(outcome).toMatchObject({ ok: false, code: "cancelled" });
    expect(cancelMs).toBeLessThan(1000);
    expect(left).toEqual([]);
  }, 30_000);

  it("stopping the executor mid-stream ends the run with executor_stopped and the text so far", async () => {
    const slowDeltas = Array.from({ length: 100 }, (_, i) => `word${i} `);
    fake.on("stream slowly", [{ blocks: [text(...slowDeltas)], delayMs: 50 }]);
    const d = dirs();
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const running = testRuntime(fake.url).run(
      request(d, "stream slowly"),
      (e) => events.push(e),
      controller.signal,
    );
    await waitFor(
      "a few text deltas",
      () => events.filter((e) => e.kind === "text").length >= 3,
      20_000,
    );
    const startedAt = performance.now();
    controller.abort("executor_stopped");
    const outcome = await running;
    const stopMs = performance.now() - startedAt;
    console.log(`stop mid-stream: resolved in ${stopMs.toFixed(0)} ms`);
    expect(outcome).toMatchObject({ ok: false, code: "executor_stopped" });
    expect(stopMs).toBeLessThan(1000);
    if (outcome.ok) return;
    expect(outcome.text.length).toBeGreaterThan(0);
    expect(outcome.text).toBe(streamedText(events).slice(0, outcome.text.length));
    expect(slowDeltas.join("").startsWith(outcome.text)).toBe(true);
    expect(processesOfTask(d.homeDir)).toEqual([]);

    // The stopped session can still be continued.
    expect(outcome.sessionId).not.toBeNull();
    fake.on("continue after the stop", [{ blocks: [text("Continuing.")] }]);
    const next = await runAndRecord(
      testRuntime(fake.url),
      request(d, "continue after the stop", outcome.sessionId),
    );
    expect(next.outcome).toMatchObject({ ok: true, text: "Continuing." });
    const sent = fake.requests.find((r) => r.prompt?.includes("continue after the stop"));
    expect(JSON.stringify(sent?.body ?? null)).toContain("stream slowly");
  }, 30_000);

  it("an API error ends the run with agent_error and the API's message", async () => {
    fake.on("trigger an api error", [
      {
        error: {
          status: 400,
          type: "invalid_request_error",
          message: "fake: your prompt is too fancy",
        },
      },
    ]);
    const d = dirs();
    const { outcome } = await runAndRecord(
      testRuntime(fake.url),
      request(d, "trigger an api error"),
    );
    expect(outcome).toMatchObject({ ok: false, code: "agent_error" });
    if (outcome.ok) return;
    expect(outcome.message).toContain("fake: your prompt is too fancy");
  }, 30_000);

  it("gives the agent an explicit environment without the device token", async () => {
    fake.on("show the environment", [
      {
        blocks: [
          toolUse(
            "Bash",
            {
              command:
                "env | grep ^WEGENT || echo no-wegent-variables; echo home=$HOME; echo tmp=$TMPDIR; echo other=${SOME_OTHER_SECRET:-unset}",
              description: "show env",
            },
            "toolu_env_1",
          ),
        ],
      },
      { blocks: [text("That is the environment.")] },
    ]);
    const d = dirs();
    // Even with the token in the executor's own environment, the agent must not get it.
    process.env.WEGENT_TOKEN = DEVICE_TOKEN;
    try {
      const { events, outcome } = await runAndRecord(
        testRuntime(fake.url),
        request(d, "show the environment"),
      );
      expect(outcome.ok).toBe(true);
      const result = events.find((e) => e.kind === "tool_result" && e.toolUseId === "toolu_env_1");
      expect(result?.kind).toBe("tool_result");
      if (result?.kind !== "tool_result") return;
      expect(result.summary).toContain("no-wegent-variables");
      expect(result.summary).toContain(`home=${d.homeDir}`);
      expect(result.summary).toContain(`tmp=${d.tmpDir}`);
      expect(result.summary).toContain("other=unset");
      expect(result.summary).not.toContain(DEVICE_TOKEN);
    } finally {
      delete process.env.WEGENT_TOKEN;
    }
  }, 30_000);

  it("runs in the task's workspace and keeps Claude's session files in the task's HOME", async () => {
    fake.on("where am i", [{ blocks: [text("Here.")] }]);
    const d = dirs();
    const { outcome } = await runAndRecord(testRuntime(fake.url), request(d, "where am i"));
    expect(outcome.ok).toBe(true);
    expect(existsSync(join(d.homeDir, ".claude"))).toBe(true);
    const sent = fake.requests.find((r) => r.prompt?.includes("where am i"));
    expect(JSON.stringify(sent?.body ?? null)).toContain(d.workspaceDir);
  }, 30_000);

  // Last: every request real Claude Code sent in this file passes the cloud model proxy's body
  // rules (sandbox/request-policy.ts): its tools are client tools, it asks for no MCP
  // connector, web fetch, code execution, container or URL content.
  it("sends only what the cloud model proxy forwards (client tools, no server-side reach)", () => {
    const bodies = fake.requests.filter((r) => r.path === "/v1/messages").map((r) => r.body);
    expect(bodies.length).toBeGreaterThan(5);
    for (const body of bodies) expect(refusal("anthropic-messages", body)).toBeNull();
  });
});
