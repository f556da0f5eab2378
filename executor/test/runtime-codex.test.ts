// The Codex runtime with the real `codex` binary (the @openai/codex devDependency) against the
// fake Responses API on loopback (e2e/fake-model/responses.ts): a streamed reply, a shell
// command after Allow (and a Deny), an apply_patch edit, a cancel within 1 s, a follow-up that
// resumes the thread, usage.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeResponses, startFakeResponses } from "../../e2e/fake-model/responses";
import { type CodexRuntimeOptions, createCodexRuntime } from "../src/runtime/codex/runtime";
import type { AgentRuntime, InputQuestion, RunRequest } from "../src/runtime/types";
import {
  DEVICE_TOKEN,
  offsetsAreConsistent,
  processesOfTask,
  request,
  runAndRecord,
  type TaskDirs,
  taskDirs,
} from "./runtime-helpers";

const CODEX = join(import.meta.dirname, "../../node_modules/.bin/codex");

let fake: FakeResponses;
const dirs: TaskDirs[] = [];

beforeAll(async () => {
  fake = await startFakeResponses();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function runtime(watchLimits?: CodexRuntimeOptions["watchLimits"]): AgentRuntime {
  return createCodexRuntime({
    ...(watchLimits ? { watchLimits } : {}),
    executable: CODEX,
    provider: { name: "fake", baseUrl: fake.url, model: "fake-model", envKey: "FAKE_OPENAI_KEY" },
    extraEnv: { FAKE_OPENAI_KEY: "test-key" },
    userEnv: { PATH: process.env.PATH, LANG: "C.UTF-8", WEGENT_TOKEN: DEVICE_TOKEN },
  });
}

function task(): TaskDirs {
  const d = taskDirs();
  dirs.push(d);
  return d;
}

/** A request in default mode whose questions are answered by `answer`. */
function asking(
  req: RunRequest,
  answer: (q: InputQuestion) => { behavior: "allow" | "deny"; remember?: "task" },
  asked: InputQuestion[],
): RunRequest {
  return {
    ...req,
    permissionMode: "default",
    ask: (question) => {
      asked.push(question);
      return Promise.resolve(answer(question));
    },
  };
}

describe("Codex runtime (real codex app-server, fake Responses API)", () => {
  it("streams a reply in deltas, reports usage and the thread as the session", async () => {
    const d = task();
    const rec = await runAndRecord(runtime(), {
      ...request(d, "Hello there, Codex"),
      permissionMode: "bypassPermissions",
    });
    expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({
      ok: true,
      text: "Echo: Hello there, Codex",
    });
    expect(rec.streamedText).toBe("Echo: Hello there, Codex");
    expect(rec.events.filter((e) => e.kind === "text").length).toBeGreaterThan(1);
    expect(offsetsAreConsistent(rec.events)).toBe(true);
    if (!rec.outcome.ok) throw new Error("failed");
    expect(rec.outcome.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(rec.outcome.usage).toMatchObject({
      inputTokens: 80,
      outputTokens: 7,
      cacheReadTokens: 20,
    });
    // The task's own CODEX_HOME names the fake provider and turns the network features off.
    const config = readFileSync(join(d.homeDir, ".codex", "config.toml"), "utf8");
    expect(config).toContain('wire_api = "responses"');
    expect(config).toContain("plugins = false");
    expect(processesOfTask(d.homeDir)).toEqual([]);
  }, 60_000);

  it("gives Codex and its commands an environment without the device token", async () => {
    const d = task();
    const rec = await runAndRecord(runtime(), {
      ...request(d, "run: env"),
      permissionMode: "bypassPermissions",
    });
    expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
    const output = rec.events.find((e) => e.kind === "tool_result");
    if (output?.kind !== "tool_result") throw new Error("no command output");
    expect(output.summary).toContain(`HOME=${d.homeDir}`);
    expect(output.summary).toContain(`CODEX_HOME=${join(d.homeDir, ".codex")}`);
    expect(output.summary).not.toContain(DEVICE_TOKEN);
    expect(output.summary).not.toContain("WEGENT_");
  }, 60_000);

  it("runs a shell command after Allow, and not after Deny", async () => {
    const d = task();
    const asked: InputQuestion[] = [];
    const allowed = await runAndRecord(
      runtime(),
      asking(request(d, "run: touch allowed.txt"), () => ({ behavior: "allow" }), asked),
    );
    expect(allowed.outcome, JSON.stringify(allowed.outcome)).toMatchObject({ ok: true });
    expect(asked[0]).toMatchObject({ kind: "permission", tool: "Bash" });
    expect(String(asked[0]?.input.command)).toContain("touch allowed.txt");
    expect(existsSync(join(d.workspaceDir, "allowed.txt"))).toBe(true);
    const use = allowed.events.find((e) => e.kind === "tool_use");
    expect(use).toMatchObject({ kind: "tool_use", name: "Bash" });
    const result = allowed.events.find((e) => e.kind === "tool_result");
    expect(result).toMatchObject({ isError: false });

    const deniedAsked: InputQuestion[] = [];
    const denied = await runAndRecord(
      runtime(),
      asking(request(d, "run: touch denied.txt"), () => ({ behavior: "deny" }), deniedAsked),
    );
    expect(deniedAsked).toHaveLength(1);
    expect(denied.outcome.ok).toBe(true);
    expect(existsSync(join(d.workspaceDir, "denied.txt"))).toBe(false);
  }, 90_000);

  it("puts Codex's request_user_input (Plan mode) to the owner as a question card", async () => {
    const d = task();
    const asked: InputQuestion[] = [];
    const answered = await runAndRecord(runtime(), {
      ...request(d, "ask: Which colour?"),
      permissionMode: "plan",
      ask: (question) => {
        asked.push(question);
        return Promise.resolve({ behavior: "allow", answers: { "Which colour?": "Blue" } });
      },
    });
    expect(asked).toEqual([
      {
        kind: "question",
        tool: "request_user_input",
        input: {},
        questions: [
          {
            question: "Which colour?",
            header: "Colour",
            options: [
              { label: "Red", description: "warm" },
              { label: "Blue", description: "cool" },
            ],
            multiSelect: false,
          },
        ],
      },
    ]);
    // The model got the answer under the question's id (the fake model says what the tool said).
    expect(answered.outcome).toMatchObject({
      ok: true,
      text: 'Tool said: {"answers":{"colour":{"answers":["Blue"]}}}',
    });

    // Skipped: Codex hears no answer and goes on.
    const skipped = await runAndRecord(runtime(), {
      ...request(d, "ask: Which colour?"),
      permissionMode: "plan",
      ask: () => Promise.resolve({ behavior: "deny" }),
    });
    expect(skipped.outcome).toMatchObject({ ok: true, text: 'Tool said: {"answers":{}}' });

    // Outside Plan mode Codex offers no request_user_input: nobody is asked.
    const none: InputQuestion[] = [];
    const outside = await runAndRecord(
      runtime(),
      asking(request(d, "ask: Which colour?"), () => ({ behavior: "allow" }), none),
    );
    expect(none).toEqual([]);
    expect(outside.outcome).toMatchObject({ ok: true });
  }, 90_000);

  it("shows the plan Codex proposes in Plan mode; a follow-up in another mode leaves Plan mode", async () => {
    const d = task();
    const planned = await runAndRecord(runtime(), {
      ...request(d, "propose: add a README"),
      permissionMode: "plan",
    });
    // Codex moves the <proposed_plan> out of the message into a plan item: it is in the reply.
    expect(planned.outcome).toMatchObject({ ok: true });
    if (!planned.outcome.ok) throw new Error("failed");
    expect(planned.outcome.text).toBe("Here is my plan.\n\n# Plan\n\n1. add a README");
    expect(planned.streamedText).toBe(planned.outcome.text);

    const asked: InputQuestion[] = [];
    const after = await runAndRecord(runtime(), {
      ...request(d, "ask: Which colour?"),
      resumeSessionId: planned.outcome.sessionId,
      permissionMode: "default",
      ask: (q) => {
        asked.push(q);
        return Promise.resolve({ behavior: "allow" });
      },
    });
    expect(after.outcome).toMatchObject({ ok: true });
    expect(asked).toEqual([]);
    if (after.outcome.ok) expect(after.outcome.text).toContain("unavailable in Default mode");
  }, 90_000);

  it("edits a file through apply_patch, shown as a tool call with the diff", async () => {
    const d = task();
    const rec = await runAndRecord(runtime(), {
      ...request(d, "patch: notes.txt: written by codex"),
      permissionMode: "bypassPermissions",
    });
    expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
    expect(readFileSync(join(d.workspaceDir, "notes.txt"), "utf8")).toBe("written by codex\n");
    const use = rec.events.find((e) => e.kind === "tool_use");
    expect(use).toMatchObject({ name: "apply_patch" });
    expect(JSON.stringify(use)).toContain("notes.txt");
  }, 60_000);

  it("a cancel mid-turn ends the run and every process within 1 s", async () => {
    const d = task();
    const controller = new AbortController();
    const events: string[] = [];
    const started = runtime().run(
      { ...request(d, "hang please"), permissionMode: "bypassPermissions" },
      (e) => {
        if (e.kind === "text") events.push(e.delta);
      },
      controller.signal,
    );
    const deadline = Date.now() + 30_000;
    while (events.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(events.length).toBeGreaterThan(0);
    const t0 = Date.now();
    controller.abort("cancelled");
    const outcome = await started;
    expect(outcome).toMatchObject({ ok: false, code: "cancelled", text: "Working" });
    await new Promise((r) => setTimeout(r, 50));
    expect(processesOfTask(d.homeDir)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1000);
  }, 60_000);

  it("the watchdog stops a run whose model goes silent (agent_stalled) or runs too long (run_time_exceeded)", async () => {
    for (const [limits, code] of [
      [{ stallMs: 2500 }, "agent_stalled"],
      [{ stallMs: 120_000, maxRunMs: 4000 }, "run_time_exceeded"],
    ] as const) {
      const d = task();
      const t0 = Date.now();
      const outcome = await runtime(limits).run(
        { ...request(d, "hang please"), permissionMode: "bypassPermissions" },
        () => undefined,
        new AbortController().signal,
      );
      const took = Date.now() - t0;
      expect(outcome, code).toMatchObject({ ok: false, code, text: "Working" });
      if (!outcome.ok) {
        expect(outcome.message).toContain(
          code === "agent_stalled" ? "stallSeconds" : "maxRunMinutes",
        );
        expect(outcome.sessionId).toBeTruthy();
      }
      // Stopped at the limit (plus a watchdog tick and the process tree), not when the test ends.
      expect(took).toBeLessThan(("maxRunMs" in limits ? limits.maxRunMs : limits.stallMs) + 5000);
      await new Promise((r) => setTimeout(r, 400));
      expect(processesOfTask(d.homeDir)).toEqual([]);
    }
  }, 90_000);

  it("reports its version and the models Codex offers (model/list)", async () => {
    const described = await runtime().describe?.();
    expect(described).toMatchObject({ id: "codex", version: "0.171.0", problem: null });
    expect(described?.models.length).toBeGreaterThan(0);
    expect(described?.models[0]?.value).toMatch(/\S/);
  }, 60_000);

  it("a follow-up resumes the thread and the model sees the earlier turn", async () => {
    const d = task();
    const rt = runtime();
    const first = await runAndRecord(rt, {
      ...request(d, "My favourite colour is teal"),
      permissionMode: "bypassPermissions",
    });
    if (!first.outcome.ok) throw new Error(JSON.stringify(first.outcome));
    const second = await runAndRecord(rt, {
      ...request(d, "recall what I said", first.outcome.sessionId),
      permissionMode: "bypassPermissions",
    });
    expect(second.outcome, JSON.stringify(second.outcome)).toMatchObject({ ok: true });
    expect(second.streamedText).toContain("My favourite colour is teal");
    if (second.outcome.ok) expect(second.outcome.sessionId).toBe(first.outcome.sessionId);
  }, 90_000);
});
