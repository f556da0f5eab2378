// Messages while the agent works, against the real Claude Code binary and the fake model API:
// a message sent while a slow reply streams goes into the same running session (same process)
// and the reply covers it; `interrupt` steers; a follow-up after the reply goes into the warm
// process; what Claude Code offers (models, the owner's commands) is reported.
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeOffers, ProgressEvent } from "@wegent/protocol";
import { PLAN_FILE, startFakeModel, text, toolUse, TOOL_RESULT } from "../../e2e/fake-model/server";
import type { FakeModel } from "../../e2e/fake-model/server";
import { directLauncher, type AgentLauncher } from "../src/runtime/launcher";
import type { AgentRuntime, InputQuestion, RunRequest } from "../src/runtime/types";
import {
  offsetsAreConsistent,
  processesOfTask,
  request,
  streamedText,
  taskDirs,
  testRuntime,
  waitFor,
} from "./runtime-helpers";
import type { TaskDirs } from "./runtime-helpers";

let fake: FakeModel;
const dirsToRemove: TaskDirs[] = [];
const runtimes: AgentRuntime[] = [];

function dirs(): TaskDirs {
  const d = taskDirs();
  dirsToRemove.push(d);
  return d;
}

/** A runtime whose Claude Code starts are counted. */
function countingRuntime(onOffers?: (offers: RuntimeOffers) => void) {
  const starts = { n: 0 };
  const launcher: AgentLauncher = {
    prepare: async (req) => {
      const plan = await directLauncher.prepare(req);
      return {
        ...plan,
        spawn: (...args) => {
          starts.n += 1;
          return plan.spawn(...args);
        },
      };
    },
  };
  const runtime = testRuntime(fake.url, { launcher, ...(onOffers ? { onOffers } : {}) });
  runtimes.push(runtime);
  return { runtime, starts };
}

beforeAll(async () => {
  fake = await startFakeModel();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.closeAll?.();
  for (const d of dirsToRemove.splice(0)) d.remove();
  fake.reset();
});

const slowDeltas = Array.from({ length: 12 }, (_, i) => `part ${i + 1}. `);

describe("messages while Claude Code works (real Claude Code, fake model API)", () => {
  it("a message sent while a slow reply streams is taken by the same session at the turn boundary, and the reply covers it", async () => {
    fake.on("write slowly", [{ blocks: [text(...slowDeltas)], delayMs: 150 }]);
    fake.on("and the tests too", [{ blocks: [text("Tests written too.")] }]);
    const { runtime, starts } = countingRuntime();
    const d = dirs();
    const req = request(d, "write slowly");
    const events: ProgressEvent[] = [];
    const running = runtime.run(req, (e) => events.push(e), new AbortController().signal);
    await waitFor("the first text", () => events.some((e) => e.kind === "text"), 30_000);

    const userMessageId = randomUUID();
    expect(
      runtime.queueMessage?.({
        taskId: req.taskId,
        messageId: req.messageId,
        userMessageId,
        text: "and the tests too",
        interrupt: false,
      }),
    ).toBe("queued");
    const outcome = await running;

    expect(outcome).toMatchObject({ ok: true });
    const text_ = streamedText(events);
    // The slow turn ran to its end, then the queued message was answered in the same reply.
    expect(text_).toContain("part 12.");
    expect(text_).toContain("Tests written too.");
    expect(text_.indexOf("part 12.")).toBeLessThan(text_.indexOf("Tests written too."));
    expect(offsetsAreConsistent(events)).toBe(true);
    const taken = events.findIndex((e) => e.kind === "user_message");
    expect(events[taken]).toEqual({
      kind: "user_message",
      userMessageId,
      text: "and the tests too",
    });
    // Taken after the slow turn's text, before the answer to it.
    expect(streamedText(events.slice(0, taken))).toContain("part 12.");
    // One Claude Code process for both, and the model saw the queued text in a request of the
    // same conversation (the first prompt and its answer before it).
    expect(starts.n).toBe(1);
    const followUp = fake.requests.find((r) => r.prompt?.includes("and the tests too"));
    expect(followUp).toBeDefined();
    expect(JSON.stringify(followUp!.body)).toContain("write slowly");
    expect(JSON.stringify(followUp!.body)).toContain("part 12.");
  }, 90_000);

  it("interrupt: true stops the running turn (not the process) and the message goes in at once", async () => {
    const long = Array.from({ length: 60 }, (_, i) => `step ${i + 1}. `);
    fake.on("take your time", [{ blocks: [text(...long)], delayMs: 200 }]);
    fake.on("stop, do this instead", [{ blocks: [text("Doing it instead.")] }]);
    const { runtime, starts } = countingRuntime();
    const d = dirs();
    const req = request(d, "take your time");
    const events: ProgressEvent[] = [];
    const startedAt = Date.now();
    const running = runtime.run(req, (e) => events.push(e), new AbortController().signal);
    await waitFor("the first text", () => events.some((e) => e.kind === "text"), 30_000);
    runtime.queueMessage?.({
      taskId: req.taskId,
      messageId: req.messageId,
      userMessageId: randomUUID(),
      text: "stop, do this instead",
      interrupt: true,
    });
    const outcome = await running;
    expect(outcome).toMatchObject({ ok: true });
    const text_ = streamedText(events);
    expect(text_).toContain("Doing it instead.");
    // Steered: the long turn (60 × 200 ms) did not run to its end.
    expect(text_).not.toContain("step 60.");
    expect(Date.now() - startedAt).toBeLessThan(60 * 200);
    expect(starts.n).toBe(1);
  }, 90_000);

  it("a follow-up after the reply goes into the warm process; cancel-free close leaves nothing behind", async () => {
    fake.on("first message", [{ blocks: [text("First answer.")] }]);
    fake.on("second message", [{ blocks: [text("Second answer.")] }]);
    const { runtime, starts } = countingRuntime();
    const d = dirs();
    const first = request(d, "first message");
    const one = await runtime.run(first, () => undefined, new AbortController().signal);
    expect(one).toMatchObject({ ok: true, text: "First answer." });
    // Between messages the process stays (warm), holding no reply.
    expect(processesOfTask(d.homeDir).length).toBeGreaterThan(0);
    const second = {
      ...request(d, "second message", one.sessionId),
      taskId: first.taskId,
    };
    const two = await runtime.run(second, () => undefined, new AbortController().signal);
    expect(two).toMatchObject({ ok: true, text: "Second answer.", sessionId: one.sessionId });
    expect(starts.n).toBe(1);
    const seen = fake.requests.find((r) => r.prompt?.includes("second message"));
    expect(JSON.stringify(seen?.body)).toContain("First answer.");
    // Cancelling the idle task (or stopping the executor) closes it with everything under it.
    await runtime.closeTask?.(first.taskId);
    await waitFor("no process of the task", () => processesOfTask(d.homeDir).length === 0, 10_000);
  }, 90_000);

  it("a warm session idle past the stall limit is not stalled; a reply into it that goes silent is", async () => {
    fake.on("warm first", [{ blocks: [text("First answer.")] }]);
    fake.on("warm second", [{ blocks: [text("Second answer.")] }]);
    fake.on("warm silent", [{ blocks: [text("Thinking", " about it…")], silentAfter: 5 }]);
    const starts = { n: 0 };
    const launcher: AgentLauncher = {
      prepare: async (req) => {
        const plan = await directLauncher.prepare(req);
        return {
          ...plan,
          spawn: (...args) => {
            starts.n += 1;
            return plan.spawn(...args);
          },
        };
      },
    };
    // The test's stall limit (an option the CLI never sets; the owner's is at least 30 s).
    const stallMs = 6000;
    const runtime = testRuntime(fake.url, { launcher, watchLimits: { stallMs } });
    runtimes.push(runtime);
    const d = dirs();
    const first = request(d, "warm first");
    const one = await runtime.run(first, () => undefined, new AbortController().signal);
    expect(one).toMatchObject({ ok: true, text: "First answer." });
    // Idle and warm for longer than the stall limit: not a run, so nothing stops it.
    await new Promise((resolve) => setTimeout(resolve, stallMs + 2000));
    expect(processesOfTask(d.homeDir).length).toBeGreaterThan(0);
    const two = await runtime.run(
      { ...request(d, "warm second", one.sessionId), taskId: first.taskId },
      () => undefined,
      new AbortController().signal,
    );
    expect(two).toMatchObject({ ok: true, text: "Second answer.", sessionId: one.sessionId });
    expect(starts.n).toBe(1);
    // A reply of the warm session is watched: silent past the limit, it ends agent_stalled.
    const started = Date.now();
    const three = await runtime.run(
      { ...request(d, "warm silent", one.sessionId), taskId: first.taskId },
      () => undefined,
      new AbortController().signal,
    );
    expect(three.ok ? null : three.code, JSON.stringify(three)).toBe("agent_stalled");
    expect(three.ok ? "" : three.message).toMatch(/no output for \d+ s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(stallMs);
    expect(starts.n).toBe(1);
    await waitFor("no process of the task", () => processesOfTask(d.homeDir).length === 0, 10_000);
  }, 120_000);

  it("reports Claude Code's models and commands, the owner's ~/.claude/commands included", async () => {
    fake.on("hello", [{ blocks: [text("Hi.")] }]);
    const reported: RuntimeOffers[] = [];
    const { runtime } = countingRuntime((offers) => reported.push(offers));
    const d = dirs();
    mkdirSync(join(d.homeDir, ".claude", "commands"), { recursive: true });
    writeFileSync(
      join(d.homeDir, ".claude", "commands", "foo.md"),
      "---\ndescription: Foo the bar\n---\nFoo the bar in $ARGUMENTS\n",
    );
    const outcome = await runtime.run(
      request(d, "hello"),
      () => undefined,
      new AbortController().signal,
    );
    expect(outcome).toMatchObject({ ok: true });
    const offers = await waitFor("the offers", () => reported[0], 20_000);
    expect(offers.commands).toContainEqual(expect.objectContaining({ name: "foo" }));
    expect(offers.models.length).toBeGreaterThan(0);
  }, 90_000);
});

describe("plan mode (real Claude Code, fake model API)", () => {
  it("ExitPlanMode asks the owner as a plan; approved, the run goes on", async () => {
    const { runtime } = countingRuntime();
    const d = dirs();
    // As Claude Code asks: the plan goes into the plan file, then ExitPlanMode.
    fake.on("plan the change", [
      {
        blocks: [
          toolUse("Write", {
            file_path: PLAN_FILE,
            content: "1. Add the flag\n2. Test it",
          }),
        ],
      },
      { blocks: [toolUse("ExitPlanMode", {})] },
      { blocks: [text("Plan approved; implementing.")] },
    ]);
    // Another session of the owner's writes its own plan meanwhile (newer): not this card's.
    mkdirSync(join(d.homeDir, ".claude", "plans"), { recursive: true });
    const theirs = join(d.homeDir, ".claude", "plans", "another-session.md");
    writeFileSync(theirs, "1. Someone else's plan");
    const later = new Date(Date.now() + 10 * 60_000);
    utimesSync(theirs, later, later);
    const asked: InputQuestion[] = [];
    const req: RunRequest = {
      ...request(d, "plan the change"),
      permissionMode: "plan",
      ask: (question) => {
        asked.push(question);
        return Promise.resolve({ behavior: "allow" });
      },
    };
    const outcome = await runtime.run(req, () => undefined, new AbortController().signal);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({
      kind: "plan",
      tool: "ExitPlanMode",
      input: { plan: "1. Add the flag\n2. Test it" },
    });
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.text).toContain("Plan approved; implementing.");
  }, 90_000);

  it("Keep planning: the owner's words go back to the agent, which plans on", async () => {
    fake.on("plan another change", [
      { blocks: [toolUse("ExitPlanMode", { plan: "1. Rewrite everything" })] },
      { blocks: [text(`Revising: ${TOOL_RESULT}`)] },
    ]);
    const { runtime } = countingRuntime();
    const d = dirs();
    const req: RunRequest = {
      ...request(d, "plan another change"),
      permissionMode: "plan",
      ask: () => Promise.resolve({ behavior: "deny", message: "Smaller steps, please" }),
    };
    const outcome = await runtime.run(req, () => undefined, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.text).toContain("Smaller steps, please");
  }, 90_000);
});
