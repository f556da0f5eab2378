// Where a message's time goes, from its trace (docs/observability.md): the stages of one message
// read off its spans, their medians over the bench's runs, and a waterfall in text.
import type { SeenSpan } from "../../edge/telemetry/otlp-walk";
import { percentile } from "../lib/stats";

export const STAGES = [
  "HTTP",
  "D1",
  "queue",
  "dispatch",
  "agent start",
  "model first token",
  "relay",
] as const;
export type Stage = (typeof STAGES)[number];

/** One stage of one message: when it began (ms after the request began) and how long it took. */
export interface StageTime {
  startMs: number;
  ms: number;
}

export interface WaterfallResult {
  runs: number;
  /** Messages whose trace had every span the stages need. */
  complete: number;
  stages: Record<Stage, StageTime>;
  /** The request's start to the hub's completion, median. */
  totalMs: number;
  d1RoundTrips: number;
}

const WHAT: Record<Stage, string> = {
  HTTP: "the Worker's POST /api/tasks span",
  D1: "that request minus the hub's submit: D1 round trips and the Worker's own work",
  queue: "DeviceHub queue wait",
  dispatch: "DeviceHub dispatch → the executor's message span begins (the socket)",
  "agent start":
    "executor message begins → the agent is launched (workspace, worktree, capability sync, hook)",
  "model first token":
    "the agent launched → its first text: Claude Code's own start and the model's first token (a text-only reply has no earlier event to split them)",
  relay: "the executor's first token → the hub stored and pushed it",
};

/** The stages of one message's trace, or null when a span is missing. */
export function messageStages(spans: SeenSpan[]): {
  stages: Record<Stage, StageTime>;
  totalMs: number;
  d1RoundTrips: number;
} | null {
  const one = (name: string) => spans.find((s) => s.name === name);
  const http = spans.find((s) => s.service === "wegent-edge" && s.name.startsWith("POST "));
  const submit = one("DeviceHub submit");
  const queue = one("DeviceHub queue wait");
  const dispatch = one("DeviceHub dispatch");
  const message = one("executor message");
  const agent = one("executor agent start");
  const token = one("executor first token");
  const completion = one("DeviceHub completion");
  const stored = spans
    .filter((s) => s.name === "DeviceHub output batch stored" && token && s.startMs >= token.endMs)
    .sort((a, b) => a.startMs - b.startMs)[0];
  if (!http || !submit || !dispatch || !message || !agent || !token || !completion || !stored) {
    return null;
  }
  const t0 = http.startMs;
  const at = (startMs: number, endMs: number): StageTime => ({
    startMs: startMs - t0,
    ms: Math.max(0, endMs - startMs),
  });
  const httpMs = http.endMs - http.startMs;
  const submitMs = submit.endMs - submit.startMs;
  return {
    stages: {
      HTTP: at(http.startMs, http.endMs),
      D1: { startMs: 0, ms: Math.max(0, httpMs - submitMs) },
      queue: queue ? at(queue.startMs, queue.endMs) : at(dispatch.startMs, dispatch.startMs),
      dispatch: at(dispatch.startMs, message.startMs),
      "agent start": at(message.startMs, agent.startMs),
      "model first token": at(agent.startMs, token.endMs),
      relay: at(token.endMs, stored.endMs),
    },
    totalMs: completion.endMs - t0,
    d1RoundTrips: Number(http.attributes["wegent.d1_round_trips"] ?? 0),
  };
}

/** Medians over the messages (each stage's start and length on its own). */
export function waterfall(traces: SeenSpan[][]): WaterfallResult {
  const each = traces.map(messageStages).filter((x) => x !== null);
  const med = (values: number[]) => (values.length ? percentile(values, 50) : 0);
  const stages = Object.fromEntries(
    STAGES.map((stage) => [
      stage,
      {
        startMs: med(each.map((e) => e.stages[stage].startMs)),
        ms: med(each.map((e) => e.stages[stage].ms)),
      },
    ]),
  ) as Record<Stage, StageTime>;
  return {
    runs: traces.length,
    complete: each.length,
    stages,
    totalMs: med(each.map((e) => e.totalMs)),
    d1RoundTrips: med(each.map((e) => e.d1RoundTrips)),
  };
}

const fmt = (ms: number) => (ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** The waterfall in text: one line per stage, a bar placed at its median start. */
export function waterfallText(w: WaterfallResult, width = 48): string {
  const end = Math.max(w.totalMs, ...STAGES.map((s) => w.stages[s].startMs + w.stages[s].ms), 1);
  const col = (ms: number) => Math.min(width, Math.round((ms / end) * width));
  const lines = STAGES.map((stage) => {
    const { startMs, ms } = w.stages[stage];
    const from = col(startMs);
    const bar = " ".repeat(from) + "█".repeat(Math.max(1, col(startMs + ms) - from));
    return `${stage.padEnd(18)} ${fmt(ms).padStart(10)}  |${bar.padEnd(width)}|`;
  });
  return [
    `median of ${w.complete} of ${w.runs} messages; 0 → ${fmt(end)} (request start → completion ${fmt(w.totalMs)}); ${w.d1RoundTrips} D1 round trips per POST`,
    ...lines,
  ].join("\n");
}

/** The section docs/benchmarks.md keeps (between markers, so a `--only w` run replaces it). */
export function waterfallDoc(w: WaterfallResult, when: string): string {
  return `${WATERFALL_BEGIN}
## Where a message's time goes (from its trace)

One message at a time through the real stack with tracing on (a loopback OTLP receiver,
\`wrangler dev\`, the real executor, real Claude Code against the fake model; section (w),
\`bench/measure/waterfall.ts\`). ${when}

\`\`\`text
${waterfallText(w)}
\`\`\`

${STAGES.map((s) => `- **${s}**: ${WHAT[s]}.`).join("\n")}
${WATERFALL_END}`;
}

export const WATERFALL_BEGIN = "<!-- waterfall -->";
export const WATERFALL_END = "<!-- /waterfall -->";

/** Puts the section into an existing docs/benchmarks.md (replacing the previous one). */
export function withWaterfall(doc: string, section: string): string {
  const a = doc.indexOf(WATERFALL_BEGIN);
  const b = doc.indexOf(WATERFALL_END);
  if (a >= 0 && b > a) return doc.slice(0, a) + section + doc.slice(b + WATERFALL_END.length);
  return `${doc.trimEnd()}\n\n${section}\n`;
}
