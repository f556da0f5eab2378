import type { MessageTrace } from "./types";

// The executor's metrics surface (docs/observability.md "The metrics"): a no-op when no OTLP
// endpoint is configured, and then the exporter's code is never run (see index.ts).

/**
 * Why the executor dials again: an established link dropped, a dial failed (the backend
 * unreachable or refusing), or no credential could be had for the dial yet.
 */
export type ReconnectReason = "link_lost" | "unreachable" | "credential";

/** What the executor reads for its gauges at each export. */
export interface ExecutorFigures {
  deviceId: string;
  /** Messages running on this executor now. */
  slotsInUse: number;
  /** The slots it offers. */
  slots: number;
  /** Output frames written but not yet acknowledged by the hub. */
  unackedFrames: number;
}

/** One message as the executor saw it, from `task:execute` to its last frame. */
export interface MessageEnded {
  runtime: string;
  status: string;
  code: string | null;
  /** Since `task:execute` started it; null when it never started (refused at once). */
  durationMs: number | null;
  /** `task:execute` → the agent's first text or thinking; null when there was none. */
  firstTokenMs: number | null;
}

export interface ExecutorMetrics {
  readonly enabled: boolean;
  reconnect(reason: ReconnectReason, closeCode: number): void;
  /** One output event: the agent produced it → the hub acknowledged the frame carrying it. */
  streamLag(ms: number): void;
  messageEnded(message: MessageEnded): void;
  /** Sends what is recorded and stops the export timer (at exit). */
  shutdown(): Promise<void>;
}

export const NO_METRICS: ExecutorMetrics = {
  enabled: false,
  reconnect() {},
  streamLag() {},
  messageEnded() {},
  shutdown: () => Promise.resolve(),
};

/**
 * A message's trace that also measures it for the metrics: duration and time to first token
 * from `task:execute`, its outcome and failure code at its (first) end. Off: the trace as is.
 */
export function measured(
  trace: MessageTrace,
  metrics: ExecutorMetrics,
  runtime: string,
  now: () => number = Date.now,
): MessageTrace {
  if (!metrics.enabled) return trace;
  const startedAt = now();
  let firstTokenAt: number | null = null;
  let ended = false;
  return {
    get traceparent() {
      return trace.traceparent;
    },
    step: (name, attributes) => trace.step(name, attributes),
    agentStarting: () => trace.agentStarting(),
    event(event) {
      if (firstTokenAt === null && (event.kind === "text" || event.kind === "thinking")) {
        firstTokenAt = now();
      }
      trace.event(event);
    },
    end(status, code = null) {
      trace.end(status, code);
      if (ended) return;
      ended = true;
      metrics.messageEnded({
        runtime,
        status,
        code,
        durationMs: now() - startedAt,
        firstTokenMs: firstTokenAt === null ? null : firstTokenAt - startedAt,
      });
    },
  };
}
