// What a run learns besides the reply, from Claude Code's SDK messages: rate-limit events
// become `rate_limit` progress events, a refused login is recognised, and the context used.
import type { SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ProgressEvent } from "@wegent/protocol";
import { describe, expect, it } from "vitest";
import { RunFacts } from "../src/runtime/claude/watch";

const sdk = (m: unknown) => m as SDKMessage;

describe("RunFacts", () => {
  it("passes Claude Code's rate-limit events on with the reset time", () => {
    const events: ProgressEvent[] = [];
    const facts = new RunFacts((e) => events.push(e));
    facts.handle(
      sdk({
        type: "rate_limit_event",
        rate_limit_info: {
          status: "allowed_warning",
          resetsAt: 1_900_000_000,
          rateLimitType: "five_hour",
          utilization: 0.91,
        },
        uuid: "u",
        session_id: "s",
      }),
    );
    expect(events).toEqual([
      {
        kind: "rate_limit",
        limit: {
          status: "allowed_warning",
          limitType: "five_hour",
          resetsAt: new Date(1_900_000_000_000).toISOString(),
          utilization: 0.91,
        },
      },
    ]);
  });

  it("recognises a refused login and tells the context used", () => {
    const facts = new RunFacts(() => undefined);
    facts.handle(
      sdk({
        type: "assistant",
        parent_tool_use_id: null,
        error: "authentication_failed",
        message: {
          content: [{ type: "text", text: "OAuth token has expired" }],
          usage: {
            input_tokens: 10,
            cache_read_input_tokens: 1000,
            cache_creation_input_tokens: 5,
          },
        },
        uuid: "u",
        session_id: "s",
      }),
    );
    expect(facts.authFailure).toBe("OAuth token has expired");
    expect(facts.refusedBy(null, "")).toBe(true);
    const usage = facts.usage(
      { inputTokens: 10, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 },
      { modelUsage: { m: { contextWindow: 200_000 } } } as unknown as SDKResultMessage,
    );
    expect(usage).toMatchObject({ contextTokens: 1015, contextWindow: 200_000 });
  });

  it("does not take an ordinary failure for refused credentials", () => {
    const facts = new RunFacts(() => undefined);
    const result = {
      subtype: "error_during_execution",
      errors: ["Tool failed: file not found"],
    } as unknown as SDKResultMessage;
    expect(facts.refusedBy(result, "")).toBe(false);
    expect(facts.refusedBy(null, "API Error: 401 authentication_error invalid x-api-key")).toBe(
      true,
    );
  });
});
