// What the Claude runtime watches while a run goes on, apart from the reply itself:
// - the watchdog: a run with no output of any kind for `stallSeconds` (while not waiting for
//   the owner) is stopped as `agent_stalled`; one past `maxRunMinutes` as `run_time_exceeded`;
// - the model refusing the credentials (401/403) → `credentials_invalid`;
// - Claude Code's rate-limit events, passed on as `rate_limit` progress events;
// - how full the context is after the message (the last main-thread model call's prompt).
import type { SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { FailureCode, ProgressEvent, RateLimit, Usage } from "@wegent/protocol";

export interface WatchLimits {
  /** No output for this long (not waiting for the owner) stops the run. */
  stallMs: number;
  /** Running (not waiting) for longer than this stops the run; null = no limit. */
  maxRunMs: number | null;
}

export interface Stop {
  code: Extract<FailureCode, "agent_stalled" | "run_time_exceeded">;
  message: string;
}

const TICK_MS = 1000;

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

/**
 * The watchdog of one run. `output()` on every sign of life, `waiting(true/false)` around a
 * question to the owner; `onStop` is called once when a limit is passed.
 */
export class Watchdog {
  private lastOutput: number;
  private activeMs = 0;
  private activeSince: number | null;
  private waits = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly limits: WatchLimits,
    private readonly onStop: (stop: Stop) => void,
    private readonly now: () => number = Date.now,
    tickMs = Math.min(TICK_MS, Math.max(50, Math.floor(limits.stallMs / 10))),
  ) {
    this.lastOutput = now();
    this.activeSince = now();
    this.timer = setInterval(() => this.check(), tickMs);
    this.timer.unref?.();
  }

  output(): void {
    this.lastOutput = this.now();
  }

  /** The run waits for the owner (true) or goes on (false); waiting time never counts. */
  waiting(on: boolean): void {
    const now = this.now();
    if (on) {
      if (this.waits++ === 0 && this.activeSince !== null) {
        this.activeMs += now - this.activeSince;
        this.activeSince = null;
      }
    } else if (this.waits > 0 && --this.waits === 0) {
      this.activeSince = now;
      // Silence while the owner thought it over is not the agent's.
      this.lastOutput = now;
    }
  }

  /** Checks the limits now (the timer does it every tick). */
  check(): void {
    if (this.stopped || this.waits > 0) return;
    const now = this.now();
    const silent = now - this.lastOutput;
    if (silent >= this.limits.stallMs) {
      this.stop({
        code: "agent_stalled",
        message: `The agent produced no output for ${seconds(silent)} (the limit is ${seconds(this.limits.stallMs)}, the stallSeconds runtime setting), so it was stopped. Send a message to continue where it stopped.`,
      });
      return;
    }
    const active = this.activeMs + (this.activeSince === null ? 0 : now - this.activeSince);
    if (this.limits.maxRunMs !== null && active >= this.limits.maxRunMs) {
      this.stop({
        code: "run_time_exceeded",
        message: `The run went on for ${seconds(active)} (not counting time waiting for you), past the limit of ${seconds(this.limits.maxRunMs)} (the maxRunMinutes runtime setting), so it was stopped. Send a message to continue where it stopped.`,
      });
    }
  }

  private stop(stop: Stop): void {
    this.stopped = true;
    this.dispose();
    this.onStop(stop);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

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

/** Aborts when either does, with that one's reason. */
export function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return a;
  if (b.aborted) return b;
  const both = new AbortController();
  const abort = (from: AbortSignal) => () => both.abort(from.reason);
  a.addEventListener("abort", abort(a), { once: true });
  b.addEventListener("abort", abort(b), { once: true });
  return both.signal;
}
