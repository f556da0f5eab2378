// The watchdog of one run, for every runtime: a run with no output of any kind for
// `stallSeconds` (while not waiting for the owner) is stopped as `agent_stalled`; one past
// `maxRunMinutes` (not counting time waiting for the owner) as `run_time_exceeded`.
import type { FailureCode } from "@wegent/protocol";
import type { RunRequest } from "./types";

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

/** The request with its `ask` wrapped so time waiting for the owner does not count. */
export function watchedAsks(request: RunRequest, watch: Watchdog): RunRequest {
  const ask = request.ask;
  if (!ask) return request;
  return {
    ...request,
    ask: (question, askSignal) => {
      watch.waiting(true);
      return ask(question, askSignal).finally(() => watch.waiting(false));
    },
  };
}
