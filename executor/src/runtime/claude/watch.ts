// What the Claude runtime watches while a run goes on, apart from the reply itself:
// - the watchdog (../watchdog.ts, shared with the other runtimes);
// - the model refusing the credentials (401/403) → `credentials_invalid`;
// - Claude Code's rate-limit events, passed on as `rate_limit` progress events;
// - how full the context is after the message (the last main-thread model call's prompt).
import type { SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ProgressEvent, RateLimit, Usage } from "@wegent/protocol";

export { eitherSignal, type Stop, Watchdog, type WatchLimits } from "../watchdog";

/** Claude Code's rate-limit event as the protocol carries it. */
function rateLimitOf(info: {
  status: RateLimit["status"];
  resetsAt?: number;
  rateLimitType?: string;
  utilization?: number;
}): RateLimit {
  return {
    status: info.status,
    limitType: info.rateLimitType ?? null,
    // Seconds since the epoch in Claude Code's events.
    resetsAt:
      typeof info.resetsAt === "number" && Number.isFinite(info.resetsAt)
        ? new Date(info.resetsAt < 1e12 ? info.resetsAt * 1000 : info.resetsAt).toISOString()
        : null,
    utilization:
      typeof info.utilization === "number" && info.utilization >= 0 && info.utilization <= 100
        ? info.utilization
        : null,
  };
}

/** Everything a run learns from Claude Code's messages besides the reply. */
export class RunFacts {
  /** The model refused the credentials (Claude Code's own words), or null. */
  authFailure: string | null = null;
  private contextTokens: number | null = null;

  constructor(private readonly emit: (event: ProgressEvent) => void) {}

  handle(message: SDKMessage): void {
    if (message.type === "assistant" && message.parent_tool_use_id === null) {
      if (message.error === "authentication_failed" || message.error === "oauth_org_not_allowed") {
        const said = message.message.content
          .map((b) => (b.type === "text" ? b.text : ""))
          .join(" ")
          .trim();
        this.authFailure = said || "authentication failed";
      }
      const u = message.message.usage as
        | {
            input_tokens?: number;
            cache_read_input_tokens?: number | null;
            cache_creation_input_tokens?: number | null;
          }
        | undefined;
      if (u && typeof u.input_tokens === "number") {
        this.contextTokens =
          u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
      }
      return;
    }
    if (message.type === "rate_limit_event") {
      this.emit({ kind: "rate_limit", limit: rateLimitOf(message.rate_limit_info) });
    }
  }

  /** A failed result that says the credentials were refused (401/403). */
  refusedBy(result: SDKResultMessage | null, stderr: string): boolean {
    if (this.authFailure !== null) return true;
    const words = [
      result?.subtype === "success" ? result.result : (result?.errors ?? []).join(" "),
      stderr,
    ].join(" ");
    return /\b(401|403)\b.*\b(auth|unauthori[sz]ed|forbidden|permission|invalid (api )?key|token)/i.test(
      words,
    )
      ? true
      : /invalid api key|please run \/login|failed to authenticate|oauth token (has )?expired/i.test(
          words,
        );
  }

  /** The message's usage with how full the context is. */
  usage(base: Usage, result: SDKResultMessage): Usage {
    const windows = Object.values(result.modelUsage ?? {})
      .map((m) => m.contextWindow)
      .filter((w): w is number => typeof w === "number" && w > 0);
    return {
      ...base,
      ...(this.contextTokens !== null ? { contextTokens: this.contextTokens } : {}),
      ...(windows.length > 0 ? { contextWindow: Math.max(...windows) } : {}),
    };
  }
}
