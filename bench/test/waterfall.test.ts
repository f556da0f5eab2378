// The bench's waterfall (issue 25 item 5): stages read off one message's spans, medians, text.
import { describe, expect, it } from "vitest";
import type { SeenSpan } from "../../edge/telemetry/otlp-walk";
import {
  messageStages,
  waterfall,
  waterfallText,
  withWaterfall,
} from "../measure/waterfall-report";

const span = (name: string, startMs: number, endMs: number, extra: Partial<SeenSpan> = {}) => ({
  service: name.startsWith("executor") ? "wegent-executor" : "wegent-edge",
  traceId: "t",
  spanId: name,
  parentSpanId: null,
  name,
  startMs,
  endMs,
  attributes: {},
  ...extra,
});

function trace(shift: number): SeenSpan[] {
  return [
    span("POST /api/tasks", 0, 40, { attributes: { "wegent.d1_round_trips": 4 } }),
    span("DeviceHub submit", 25, 35),
    span("DeviceHub queue wait", 30, 31),
    span("DeviceHub dispatch", 31, 32),
    span("executor message", 34, 900),
    span("executor agent start", 80 + shift, 700),
    span("executor first token", 80 + shift, 700),
    span("DeviceHub output batch stored", 720, 725),
    span("DeviceHub completion", 890, 905),
  ];
}

describe("the bench's waterfall", () => {
  it("reads each stage of a message off its spans", () => {
    const s = messageStages(trace(0))!;
    expect(s.stages.HTTP).toEqual({ startMs: 0, ms: 40 });
    expect(s.stages.D1.ms).toBe(30);
    expect(s.stages.queue).toEqual({ startMs: 30, ms: 1 });
    expect(s.stages.dispatch).toEqual({ startMs: 31, ms: 3 });
    expect(s.stages["agent start"]).toEqual({ startMs: 34, ms: 46 });
    expect(s.stages["model first token"]).toEqual({ startMs: 80, ms: 620 });
    expect(s.stages.relay).toEqual({ startMs: 700, ms: 25 });
    expect(s.totalMs).toBe(905);
    expect(s.d1RoundTrips).toBe(4);
  });

  it("takes medians, counts incomplete traces, and draws one bar per stage", () => {
    const w = waterfall([trace(0), trace(10), trace(20), trace(0).slice(1)]);
    expect(w).toMatchObject({ runs: 4, complete: 3 });
    expect(w.stages["agent start"].ms).toBe(56);
    const text = waterfallText(w);
    expect(text.split("\n")).toHaveLength(8);
    expect(text).toMatch(/^median of 3 of 4 messages/);
    expect(text).toMatch(/model first token +\d+\.\d ms +\| *█+ *\|/);
  });

  it("replaces its own section of the docs and leaves the rest", () => {
    const once = withWaterfall("# Benchmarks\n\nrest\n", "<!-- waterfall -->A<!-- /waterfall -->");
    expect(once).toBe("# Benchmarks\n\nrest\n\n<!-- waterfall -->A<!-- /waterfall -->\n");
    expect(withWaterfall(once, "<!-- waterfall -->B<!-- /waterfall -->")).toBe(
      "# Benchmarks\n\nrest\n\n<!-- waterfall -->B<!-- /waterfall -->\n",
    );
  });
});
