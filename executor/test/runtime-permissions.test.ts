// The permission path against the real Claude Code binary and the fake model: in `default`
// mode a Bash call waits for the user's answer, runs after an allow, is refused after a deny;
// AskUserQuestion becomes questions whose answers reach the agent.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  startFakeModel,
  text,
  toolUse,
  TOOL_RESULT,
  type FakeModel,
} from "../../e2e/fake-model/server";
import type { InputDecision, InputQuestion } from "../src/runtime/types";
import {
  cleanUp,
  request,
  runAndRecord,
  taskDirs,
  testRuntime,
  type TaskDirs,
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

function asking(answer: (q: InputQuestion) => InputDecision, delayMs = 300) {
  const asked: InputQuestion[] = [];
  return {
    asked,
    ask: async (q: InputQuestion) => {
      asked.push(q);
      await new Promise((r) => setTimeout(r, delayMs)); // the user takes a moment
      return answer(q);
    },
  };
}

function bashRule(prompt: string, file = "out.txt") {
  fake.on(prompt, [
    {
      blocks: [
        text("Writing it."),
        toolUse("Bash", { command: `printf approved > ${file}`, description: `write ${file}` }),
      ],
    },
    { blocks: [text(`Tool said: ${TOOL_RESULT}`)] },
  ]);
}

describe("permission requests (real Claude Code)", () => {
  it("in default mode a Bash call waits for the user and runs after Allow", async () => {
    bashRule("bash allowed please");
    const d = taskDirs();
    toRemove.push(d);
    const user = asking(() => ({ behavior: "allow" }));
    const { outcome, events } = await runAndRecord(testRuntime(fake.url), {
      ...request(d, "bash allowed please"),
      permissionMode: "default",
      ask: user.ask,
    });
    expect(outcome.ok).toBe(true);
    expect(user.asked).toEqual([
      expect.objectContaining({
        kind: "permission",
        tool: "Bash",
        input: expect.objectContaining({ command: "printf approved > out.txt" }),
      }),
    ]);
    expect(readFileSync(join(d.workspaceDir, "out.txt"), "utf8")).toBe("approved");
    expect(events.some((e) => e.kind === "tool_result" && !e.isError)).toBe(true);
  }, 60_000);

  it("a Deny refuses the call with the user's message", async () => {
    bashRule("bash denied please");
    const d = taskDirs();
    toRemove.push(d);
    const user = asking(() => ({ behavior: "deny", message: "not on my machine" }));
    const { outcome, events } = await runAndRecord(testRuntime(fake.url), {
      ...request(d, "bash denied please"),
      permissionMode: "default",
      ask: user.ask,
    });
    expect(user.asked).toHaveLength(1);
    expect(existsSync(join(d.workspaceDir, "out.txt"))).toBe(false);
    const result = events.find((e) => e.kind === "tool_result");
    expect(result).toMatchObject({ isError: true });
    expect(result?.kind === "tool_result" && result.summary).toContain("not on my machine");
    expect(outcome.ok && outcome.text).toContain("not on my machine");
  }, 60_000);

  it("in bypassPermissions nobody is asked", async () => {
    bashRule("bash bypassed please");
    const d = taskDirs();
    toRemove.push(d);
    const user = asking(() => ({ behavior: "deny" }));
    const { outcome } = await runAndRecord(testRuntime(fake.url), {
      ...request(d, "bash bypassed please"),
      permissionMode: "bypassPermissions",
      ask: user.ask,
    });
    expect(outcome.ok).toBe(true);
    expect(user.asked).toHaveLength(0);
    expect(readFileSync(join(d.workspaceDir, "out.txt"), "utf8")).toBe("approved");
  }, 60_000);

  it("AskUserQuestion becomes questions and the agent gets the answer", async () => {
    fake.on("ask me a question", [
      {
        blocks: [
          toolUse("AskUserQuestion", {
            questions: [
              {
                question: "Which colour should the button be?",
                header: "Colour",
                multiSelect: false,
                options: [
                  { label: "Teal", description: "calm" },
                  { label: "Orange", description: "loud" },
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
    const user = asking((q) => ({
      behavior: "allow",
      answers: { [q.questions![0]!.question]: "Orange" },
    }));
    const { outcome } = await runAndRecord(testRuntime(fake.url), {
      ...request(d, "ask me a question"),
      permissionMode: "default",
      ask: user.ask,
    });
    expect(user.asked).toEqual([
      expect.objectContaining({
        kind: "question",
        tool: "AskUserQuestion",
        questions: [expect.objectContaining({ question: "Which colour should the button be?" })],
      }),
    ]);
    expect(outcome.ok).toBe(true);
    expect(outcome.ok && outcome.text).toContain("Orange");
  }, 60_000);

  it("a cancel while the agent waits for an answer stops it within a second", async () => {
    bashRule("bash then cancel", "never.txt");
    const d = taskDirs();
    toRemove.push(d);
    const stop = new AbortController();
    let asked = false;
    const running = runAndRecord(
      testRuntime(fake.url),
      {
        ...request(d, "bash then cancel"),
        permissionMode: "default",
        ask: (_q, signal) =>
          new Promise((resolve) => {
            asked = true;
            signal.addEventListener("abort", () => resolve({ behavior: "deny", message: "stop" }));
          }),
      },
      stop.signal,
    );
    const deadline = Date.now() + 30_000;
    while (!asked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(asked).toBe(true);
    const started = Date.now();
    stop.abort("cancelled");
    const { outcome } = await running;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(outcome).toMatchObject({ ok: false, code: "cancelled" });
    expect(existsSync(join(d.workspaceDir, "never.txt"))).toBe(false);
  }, 60_000);
});
