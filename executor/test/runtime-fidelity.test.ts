// The agent a device runs is Claude Code as in the owner's terminal (issue 22), checked with
// the real Claude Code binary against the fake model: Claude Code's own system prompt with the
// owner's appended text after it, and AskUserQuestion reaching the owner in bypass mode too.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RUNTIME_SETTINGS } from "@wegent/protocol";
import {
  startFakeModel,
  systemText,
  text,
  toolUse,
  TOOL_RESULT,
  type FakeModel,
} from "../../e2e/fake-model/server";
import { createClaudeRuntime } from "../src/runtime/claude/runtime";
import type { InputQuestion } from "../src/runtime/types";
import {
  cleanUp,
  processesOfTask,
  request,
  runAndRecord,
  taskDirs,
  testRuntime,
  tracked,
  type TaskDirs,
  waitFor,
} from "./runtime-helpers";

let fake: FakeModel;
const toRemove: TaskDirs[] = [];
beforeAll(async () => {
  fake = await startFakeModel();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await cleanUp(toRemove);
});

const APPENDED = "Always answer like a pirate, matey. (owner's appended text 7f3a)";

function capabilities(appendSystemPrompt: string) {
  return {
    pluginDir: null,
    mcpServers: [],
    runtime: { ...DEFAULT_RUNTIME_SETTINGS, appendSystemPrompt },
  };
}

describe("Claude Code's own system prompt", () => {
  it("is sent with the owner's appended text after it, and kept by a follow-up", async () => {
    fake.on("prompt check one", [{ blocks: [text("Arr.")] }]);
    fake.on("prompt check two", [{ blocks: [text("Arr again.")] }]);
    const d = taskDirs();
    toRemove.push(d);
    const runtime = testRuntime(fake.url);
    const first = await runAndRecord(runtime, {
      ...request(d, "prompt check one"),
      capabilities: capabilities(APPENDED),
    });
    expect(first.outcome.ok, JSON.stringify(first.outcome)).toBe(true);
    const sent = fake.requests.filter((r) => r.prompt?.includes("prompt check one"));
    expect(sent.length).toBeGreaterThan(0);
    const system = systemText(sent[sent.length - 1]!);
    // Claude Code's prompt: thousands of characters, its own words about itself and its tools
    // (the SDK's bare default is one sentence of 136 characters).
    expect(system.length).toBeGreaterThan(3000);
    expect(system).toContain("Claude Code");
    expect(system).not.toContain("built on Anthropic's Claude Agent SDK");
    expect(system).toContain("You are Claude Code, Anthropic's official CLI for Claude");
    expect(system).toContain("# Harness");
    // The appended text comes after Claude Code's own.
    expect(system.indexOf(APPENDED)).toBeGreaterThan(3000);
    expect(system.trimEnd().endsWith(APPENDED)).toBe(true);

    // A follow-up of the same session keeps the prompt.
    const second = await runAndRecord(runtime, {
      ...request(d, "prompt check two", first.outcome.sessionId),
      capabilities: capabilities(APPENDED),
    });
    expect(second.outcome.ok, JSON.stringify(second.outcome)).toBe(true);
    const followUp = fake.requests.filter((r) => r.prompt?.includes("prompt check two"));
    expect(systemText(followUp[followUp.length - 1]!)).toContain(APPENDED);
  }, 90_000);

  it("is Claude Code's even with no appended text (cloud, or nothing set)", async () => {
    fake.on("prompt check bare", [{ blocks: [text("Ok.")] }]);
    const d = taskDirs();
    toRemove.push(d);
    const { outcome } = await runAndRecord(testRuntime(fake.url), request(d, "prompt check bare"));
    expect(outcome.ok).toBe(true);
    // Usage says how full the context is: the last model call's prompt and the window.
    expect(outcome.ok && outcome.usage?.contextTokens).toBeGreaterThan(0);
    expect(outcome.ok && outcome.usage?.contextWindow).toBeGreaterThan(0);
    const sent = fake.requests.filter((r) => r.prompt?.includes("prompt check bare"));
    const system = systemText(sent[sent.length - 1]!);
    expect(system.length).toBeGreaterThan(3000);
    expect(system).toContain("Claude Code");
  }, 60_000);
});

describe("questions in every mode", () => {
  it("AskUserQuestion reaches the owner in bypassPermissions and the answer reaches the agent", async () => {
    fake.on("bypass question please", [
      {
        blocks: [
          toolUse("AskUserQuestion", {
            questions: [
              {
                question: "Which database should I use?",
                header: "Database",
                multiSelect: false,
                options: [
                  { label: "Postgres", description: "relational" },
                  { label: "SQLite", description: "a file" },
                ],
              },
            ],
          }),
        ],
      },
      { blocks: [text(`You said: ${TOOL_RESULT}`)] },
    ]);
    const d = taskDirs();
    toRemove.push(d);
    const asked: InputQuestion[] = [];
    const { outcome } = await runAndRecord(testRuntime(fake.url), {
      ...request(d, "bypass question please"),
      permissionMode: "bypassPermissions",
      ask: async (q) => {
        asked.push(q);
        await new Promise((r) => setTimeout(r, 200));
        return { behavior: "allow", answers: { [q.questions![0]!.question]: "SQLite" } };
      },
    });
    expect(asked).toEqual([
      expect.objectContaining({
        kind: "question",
        tool: "AskUserQuestion",
        questions: [expect.objectContaining({ question: "Which database should I use?" })],
      }),
    ]);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    expect(outcome.ok && outcome.text).toContain("SQLite");
  }, 60_000);
});

describe("credentials as Claude Code resolves them (local mode)", () => {
  /** The owner's environment: a HOME of its own, the fake model, no key variable. */
  function ownerEnv(home: string): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      LANG: "C.UTF-8",
      ANTHROPIC_BASE_URL: fake.url,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "0",
      IS_SANDBOX: "1",
    };
  }

  it("a HOME whose only credential is an apiKeyHelper runs, and the model sees the helper's key", async () => {
    const d = taskDirs();
    toRemove.push(d);
    const home = join(d.root, "owner");
    mkdirSync(join(home, ".claude"), { recursive: true });
    writeFileSync(
      join(home, ".claude", "settings.json"),
      JSON.stringify({ apiKeyHelper: "echo sk-from-the-helper-5150" }),
    );
    fake.on("helper key please", [{ blocks: [text("Signed in by the helper.")] }]);
    const runtime = tracked(createClaudeRuntime({ userEnv: ownerEnv(home) }));
    expect(await runtime.preflight()).toBeNull();
    expect((await runtime.describe!()).auth).toEqual({
      kind: "api_key_helper",
      label: "API key helper",
    });
    const { outcome } = await runAndRecord(runtime, request(d, "helper key please"));
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const sent = fake.requests.filter((r) => r.prompt?.includes("helper key please"));
    expect(sent.length).toBeGreaterThan(0);
    const credential = `${sent[0]!.apiKey ?? ""} ${sent[0]!.authorization ?? ""}`;
    expect(credential).toContain("sk-from-the-helper-5150");
  }, 60_000);

  it("a refused login (401) fails credentials_invalid with the fix in words", async () => {
    const d = taskDirs();
    toRemove.push(d);
    const home = join(d.root, "owner");
    mkdirSync(join(home, ".claude"), { recursive: true });
    writeFileSync(
      join(home, ".claude", ".credentials.json"),
      JSON.stringify({
        claudeAiOauth: {
          accessToken: "sk-ant-oat01-revoked",
          refreshToken: "r",
          expiresAt: Date.now() + 3_600_000,
          scopes: ["user:inference"],
          subscriptionType: "pro",
        },
      }),
    );
    fake.on("refused login please", [
      { error: { status: 401, type: "authentication_error", message: "invalid x-api-key" } },
    ]);
    const runtime = tracked(createClaudeRuntime({ userEnv: ownerEnv(home) }));
    const { outcome } = await runAndRecord(runtime, request(d, "refused login please"));
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? null : outcome.code, JSON.stringify(outcome)).toBe("credentials_invalid");
    expect(outcome.ok ? "" : outcome.message).toContain("Claude Code login (Pro)");
    expect(outcome.ok ? "" : outcome.message).toContain("/login");
  }, 60_000);
});

describe("a stuck run ends", () => {
  it("a model stream that goes silent ends agent_stalled, with how long, and nothing left running", async () => {
    fake.on("go silent please", [
      { blocks: [text("Thinking about it", " and then…")], silentAfter: 5 },
    ]);
    const d = taskDirs();
    toRemove.push(d);
    // The owner's limit is at least 30 s; the test's limit (an option the CLI never sets)
    // keeps the suite fast while the path is the production one.
    const runtime = testRuntime(fake.url, { watchLimits: { stallMs: 8000 } });
    const started = Date.now();
    const { outcome, events } = await runAndRecord(runtime, request(d, "go silent please"));
    const took = Date.now() - started;
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? null : outcome.code, JSON.stringify(outcome)).toBe("agent_stalled");
    expect(outcome.ok ? "" : outcome.message).toMatch(/no output for \d+ s/);
    expect(events.some((e) => e.kind === "text")).toBe(true);
    expect(took).toBeGreaterThanOrEqual(8000);
    expect(took).toBeLessThan(30_000);
    await waitFor(
      "the run's processes to end",
      () => processesOfTask(d.homeDir).length === 0,
      5000,
    );
  }, 60_000);

  it("time waiting for the owner's answer never counts", async () => {
    fake.on("slow owner question", [
      {
        blocks: [
          toolUse("AskUserQuestion", {
            questions: [
              {
                question: "Ready?",
                header: "Ready",
                multiSelect: false,
                options: [
                  { label: "Yes", description: "go" },
                  { label: "No", description: "stop" },
                ],
              },
            ],
          }),
        ],
      },
      { blocks: [text(`Owner said: ${TOOL_RESULT}`)] },
    ]);
    const d = taskDirs();
    toRemove.push(d);
    const runtime = testRuntime(fake.url, { watchLimits: { stallMs: 8000 } });
    const { outcome } = await runAndRecord(runtime, {
      ...request(d, "slow owner question"),
      permissionMode: "bypassPermissions",
      ask: async (q) => {
        // The owner takes longer than the limit to answer.
        await new Promise((r) => setTimeout(r, 12_000));
        return { behavior: "allow", answers: { [q.questions![0]!.question]: "Yes" } };
      },
    });
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    expect(outcome.ok && outcome.text).toContain("Yes");
  }, 60_000);
});

describe("agentEnv on a local device", () => {
  it("passes the listed variables of the executor's environment to the agent, and only those", async () => {
    fake.on("show extra env please", [
      {
        blocks: [
          toolUse("Bash", {
            command: 'printf "extra=%s other=%s" "$EXTRA_FOR_AGENT" "$NOT_LISTED_VAR"',
            description: "print two variables",
          }),
        ],
      },
      { blocks: [text(`Env: ${TOOL_RESULT}`)] },
    ]);
    const d = taskDirs();
    toRemove.push(d);
    const home = join(d.root, "owner");
    mkdirSync(home, { recursive: true });
    const runtime = tracked(
      createClaudeRuntime({
        // The owner's login shell has neither variable; the executor was started with both.
        userEnv: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: home,
          ANTHROPIC_API_KEY: "test-key",
          ANTHROPIC_BASE_URL: fake.url,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          CLAUDE_CODE_MAX_RETRIES: "0",
          IS_SANDBOX: "1",
        },
        baseEnv: {
          PATH: process.env.PATH,
          EXTRA_FOR_AGENT: "from-the-executor-env",
          NOT_LISTED_VAR: "must-not-show",
        },
      }),
    );
    const { outcome } = await runAndRecord(runtime, {
      ...request(d, "show extra env please"),
      capabilities: {
        pluginDir: null,
        mcpServers: [],
        runtime: { ...DEFAULT_RUNTIME_SETTINGS, agentEnv: ["EXTRA_FOR_AGENT"] },
      },
    });
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    expect(outcome.ok && outcome.text).toContain("extra=from-the-executor-env other=");
    expect(outcome.ok && outcome.text).not.toContain("must-not-show");
  }, 60_000);
});
