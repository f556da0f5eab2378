// What Codex asks during a turn, answered in the shape each method expects: approvals and
// questions through the owner's cards; elicitations, extra permissions and the rest declined.
import { describe, expect, it } from "vitest";
import { answerServerRequest, collaborationFor } from "../src/runtime/codex/approvals";
import type { InputDecision, InputQuestion } from "../src/runtime/types";

const never = new AbortController().signal;

function asker(decision: InputDecision) {
  const asked: InputQuestion[] = [];
  const ask = (question: InputQuestion) => {
    asked.push(question);
    return Promise.resolve(decision);
  };
  return { asked, ask };
}

const questions = (extra: Record<string, unknown> = {}) => ({
  threadId: "t",
  turnId: "u",
  itemId: "i",
  isBlocking: true,
  autoResolutionMs: null,
  questions: [
    {
      id: "env",
      header: "Target",
      question: "Deploy where?",
      isOther: true,
      isSecret: false,
      options: [{ label: "staging", description: "safe" }],
      ...extra,
    },
    { id: "why", header: "", question: "Why?", isOther: true, isSecret: false, options: null },
  ],
});

describe("Codex server requests", () => {
  it("maps request_user_input to a question card and answers by question id", async () => {
    const { asked, ask } = asker({
      behavior: "allow",
      answers: { "Deploy where?": "staging", "Why?": "a test", "Not asked": "x" },
    });
    const answer = await answerServerRequest("item/tool/requestUserInput", questions(), ask, never);
    expect(asked[0]).toMatchObject({ kind: "question", tool: "request_user_input" });
    expect(asked[0]?.questions?.map((q) => [q.question, q.options.length])).toEqual([
      ["Deploy where?", 1],
      ["Why?", 0],
    ]);
    expect(answer).toEqual({
      answers: { env: { answers: ["staging"] }, why: { answers: ["a test"] } },
    });
  });

  it("never asks a secret question (its answer would stay in the transcript)", async () => {
    const { asked, ask } = asker({ behavior: "allow", answers: { "Deploy where?": "prod" } });
    const params = questions({ isSecret: true });
    expect(await answerServerRequest("item/tool/requestUserInput", params, ask, never)).toEqual({
      answers: {},
    });
    expect(asked).toEqual([]);
  });

  it("a skipped question card answers nothing; nobody to ask answers nothing", async () => {
    const { ask } = asker({ behavior: "deny" });
    expect(
      await answerServerRequest("item/tool/requestUserInput", questions(), ask, never),
    ).toEqual({ answers: {} });
    expect(
      await answerServerRequest("item/tool/requestUserInput", questions(), undefined, never),
    ).toEqual({ answers: {} });
  });

  it("declines MCP elicitations and extra permissions in their own shapes, rejects the rest", async () => {
    const { asked, ask } = asker({ behavior: "allow" });
    expect(
      await answerServerRequest(
        "mcpServer/elicitation/request",
        { threadId: "t", turnId: null, serverName: "s", mode: "url", url: "https://x" },
        ask,
        never,
      ),
    ).toEqual({ action: "decline", content: null, _meta: null });
    expect(await answerServerRequest("item/permissions/requestApproval", {}, ask, never)).toEqual({
      permissions: {},
      scope: "turn",
    });
    expect(await answerServerRequest("execCommandApproval", {}, ask, never)).toEqual({
      decision: "denied",
    });
    await expect(
      answerServerRequest("account/chatgptAuthTokens/refresh", {}, ask, never),
    ).rejects.toThrow(/does not answer/);
    expect(asked).toEqual([]);
  });

  it("plan mode is Codex's Plan collaboration mode when the model is known", () => {
    expect(collaborationFor("plan", "gpt-x")).toEqual({
      collaborationMode: {
        mode: "plan",
        settings: { model: "gpt-x", reasoning_effort: null, developer_instructions: null },
      },
    });
    expect(collaborationFor("default", "gpt-x")).toMatchObject({
      collaborationMode: { mode: "default" },
    });
    expect(collaborationFor("plan", null)).toEqual({});
  });
});
