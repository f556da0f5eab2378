// Usage where people look: tokens and cost under each reply, the task's totals and how full
// the context is in the task header, and Claude Code's rate-limit state as a banner.
import type { Message, RateLimit } from "@wegent/protocol";

/** 950 → "950", 12_345 → "12.3k", 1_234_567 → "1.23M". */
export function tokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

/** $0.0123 below a cent is shown to the tenth of a cent, above as cents. */
export function dollars(usd: number): string {
  return usd < 0.01 && usd > 0 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function MessageUsage(props: { message: Pick<Message, "usage" | "costUsd"> }) {
  const { usage, costUsd } = props.message;
  if (!usage && costUsd === null) return null;
  const parts: string[] = [];
  if (usage) {
    parts.push(`${tokens(usage.inputTokens)} in`, `${tokens(usage.outputTokens)} out`);
    if (usage.cacheReadTokens > 0 || usage.cacheWriteTokens > 0) {
      parts.push(
        `cache ${tokens(usage.cacheReadTokens)} read · ${tokens(usage.cacheWriteTokens)} written`,
      );
    }
  }
  if (costUsd !== null) parts.push(dollars(costUsd));
  return (
    <p className="message-usage muted" data-testid="message-usage">
      {parts.join(" · ")}
    </p>
  );
}

export interface TaskTotals {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  /** Some replies have no known cost (e.g. the executor restarted mid-session). */
  costPartial: boolean;
  /** How full the context is after the latest reply that says, 0..100, or null. */
  contextPercent: number | null;
}

export function taskTotals(messages: readonly Message[]): TaskTotals | null {
  const replies = messages.filter((m) => m.role === "assistant" && (m.usage || m.costUsd !== null));
  if (replies.length === 0) return null;
  const totals: TaskTotals = {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0,
    costPartial: false,
    contextPercent: null,
  };
  for (const m of replies) {
    if (m.usage) {
      totals.inputTokens += m.usage.inputTokens;
      totals.outputTokens += m.usage.outputTokens;
      totals.cacheReadTokens += m.usage.cacheReadTokens;
      totals.cacheWriteTokens += m.usage.cacheWriteTokens;
      const { contextTokens, contextWindow } = m.usage;
      if (contextTokens !== undefined && contextWindow) {
        totals.contextPercent = Math.min(100, Math.round((contextTokens / contextWindow) * 100));
      }
    }
    if (m.costUsd === null) totals.costPartial = true;
    else totals.costUsd += m.costUsd;
  }
  return totals;
}

export function TaskUsage(props: { messages: readonly Message[] }) {
  const totals = taskTotals(props.messages);
  if (!totals) return null;
  const cache = totals.cacheReadTokens + totals.cacheWriteTokens;
  return (
    <p className="task-usage muted" data-testid="task-usage">
      <span>
        {tokens(totals.inputTokens)} in · {tokens(totals.outputTokens)} out
        {cache > 0 ? ` · ${tokens(cache)} cache` : ""}
      </span>
      {" · "}
      <span title={totals.costPartial ? "Some replies' cost is not known" : undefined}>
        {totals.costPartial ? "≥ " : ""}
        {dollars(totals.costUsd)}
      </span>
      {totals.contextPercent !== null && (
        <>
          {" · "}
          <span data-testid="task-context">{totals.contextPercent}% of context used</span>
        </>
      )}
    </p>
  );
}

const LIMIT_NAME: Record<string, string> = {
  five_hour: "5-hour",
  seven_day: "weekly",
  seven_day_opus: "weekly Opus",
  seven_day_sonnet: "weekly Sonnet",
  overage: "extra usage",
};

/** The latest rate-limit state Claude Code reported in this task, if any. */
export function latestRateLimit(messages: readonly Message[]): RateLimit | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const block = messages[i]!.blocks.find((b) => b.type === "rate_limit");
    if (block?.type === "rate_limit") return block.limit;
  }
  return null;
}

export function RateLimitBanner(props: { messages: readonly Message[] }) {
  const limit = latestRateLimit(props.messages);
  if (!limit || limit.status === "allowed") return null;
  const name = limit.limitType ? (LIMIT_NAME[limit.limitType] ?? limit.limitType) : "usage";
  const reset = limit.resetsAt
    ? new Date(limit.resetsAt).toLocaleString(undefined, {
        weekday: "short",
        hour: "2-digit",
        minute: "2-digit",
      })
    : null;
  const used =
    limit.utilization !== null
      ? ` (${Math.round(limit.utilization <= 1 ? limit.utilization * 100 : limit.utilization)}% used)`
      : "";
  return (
    <p
      className={limit.status === "rejected" ? "error" : "notice"}
      role="status"
      data-testid="rate-limit-banner"
      data-status={limit.status}
    >
      {limit.status === "rejected"
        ? `Claude's ${name} limit is reached`
        : `Claude's ${name} limit is close${used}`}
      {reset ? ` — resets ${reset}.` : "."}
    </p>
  );
}
