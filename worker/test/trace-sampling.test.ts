import { context, ROOT_CONTEXT, SpanKind, trace, TraceFlags } from "@opentelemetry/api";
import { SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { otelConfig } from "@wegent/protocol";
import { describe, expect, it } from "vitest";
import { headSampler } from "../telemetry/instrument";

// The Worker is the public edge: the caller's sampled flag (the browser always sends 01) never
// decides; the operator's sampler does, by the trace id, while the caller stays the parent.

const TRACE = "5f1e2d3c4b5a69788796a5b4c3d2e1f0";

function decide(
  sampler: string,
  ratio: string,
  flags: TraceFlags,
  traceId = TRACE,
  random: () => number = Math.random,
): SamplingDecision {
  const config = otelConfig(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_TRACES_SAMPLER: sampler,
      OTEL_TRACES_SAMPLER_ARG: ratio,
    },
    "wegent-edge",
  )!;
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: "a1b2c3d4e5f60718",
    traceFlags: flags,
    isRemote: true,
  });
  return headSampler(config, random).shouldSample(
    parent ?? context.active(),
    traceId,
    "POST /api/tasks",
    SpanKind.SERVER,
    {},
    [],
  ).decision;
}

describe("the Worker's sampler at the public edge", () => {
  it("does not let a caller's sampled flag force tracing past the operator's ratio", () => {
    expect(decide("parentbased_traceidratio", "0", TraceFlags.SAMPLED)).toBe(
      SamplingDecision.NOT_RECORD,
    );
    expect(decide("parentbased_always_off", "1", TraceFlags.SAMPLED)).toBe(
      SamplingDecision.NOT_RECORD,
    );
  });

  it("does not let a caller's unsampled flag switch tracing off", () => {
    expect(decide("parentbased_always_on", "1", TraceFlags.NONE)).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(decide("parentbased_traceidratio", "1", TraceFlags.NONE)).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });

  it("keeps the default: everything traced, the browser's 01 included", () => {
    expect(decide("", "", TraceFlags.SAMPLED)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it("does not let a caller's chosen trace id force or hide its requests", () => {
    // A ratio sampler on the id's bits: 00000001… is below every ratio, ffffffff… above even 1.
    const low = "00000001000000010000000000000000";
    const high = "ffffffff000000000000000000000000";
    expect(decide("parentbased_always_on", "", TraceFlags.SAMPLED, high)).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(decide("traceidratio", "0.001", TraceFlags.SAMPLED, low, () => 0.5)).toBe(
      SamplingDecision.NOT_RECORD,
    );
    expect(decide("traceidratio", "0.5", TraceFlags.SAMPLED, high, () => 0.25)).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });
});
