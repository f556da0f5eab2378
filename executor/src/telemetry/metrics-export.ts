import { type OtelConfig, safeAttributes, type TraceAttributes } from "@wegent/protocol";
import type { ExecutorFigures, ExecutorMetrics, ReconnectReason } from "./metrics-types";

// The executor's metrics as OTLP/HTTP JSON to `<endpoint>/v1/metrics` (the spans' endpoint,
// headers and service name). Hand-written rather than @opentelemetry/sdk-metrics: six
// instruments need a map of sums and histograms, and this adds no package to load. Recorded in
// memory and sent every export interval with **delta** temporality (what changed since the last
// export, as the hubs send theirs); the gauges are read at each export. Runs only when an
// endpoint is set (index.ts imports this file then). Attributes pass the spans' allow-list.

/** Durations in ms: 50 ms … 10 min (as the hubs'). */
export const DURATION_BOUNDS = [
  50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
];
/** Stream lag in ms: a few ms on a quiet link … a minute across an outage. */
export const LAG_BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 60_000];

/** OTEL_METRIC_EXPORT_INTERVAL (ms), the spec's default 60 s; bounded to 100 ms … 1 h. */
export function exportIntervalMs(env: Record<string, string | undefined>): number {
  const raw = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
  if (!Number.isFinite(raw) || raw <= 0) return 60_000;
  return Math.min(3_600_000, Math.max(100, Math.round(raw)));
}

interface Sum {
  kind: "sum";
  name: string;
  unit: string;
  attrs: TraceAttributes;
  value: number;
}
interface Histogram {
  kind: "histogram";
  name: string;
  unit: string;
  attrs: TraceAttributes;
  bounds: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
  buckets: number[];
}

const nanos = (ms: number) => (BigInt(Math.round(ms)) * 1_000_000n).toString();

type AnyValue =
  { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
function anyValue(value: string | number | boolean): AnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}
const keyValues = (attrs: TraceAttributes) =>
  Object.entries(attrs).map(([key, value]) => ({ key, value: anyValue(value) }));

/** The sums and histograms recorded since the last export, and the gauges read at export. */
export class MetricsRecorder {
  private series = new Map<string, Sum | Histogram>();
  private since: number;

  constructor(
    private readonly serviceName: string,
    private readonly figures: () => ExecutorFigures,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  add(name: string, unit: string, attributes: Record<string, unknown>, value = 1): void {
    const attrs = safeAttributes(attributes);
    const key = `${name}\u0000${JSON.stringify(attrs)}`;
    const sum = this.series.get(key) ?? { kind: "sum", name, unit, attrs, value: 0 };
    if (sum.kind !== "sum") return;
    sum.value += value;
    this.series.set(key, sum);
  }

  record(
    name: string,
    unit: string,
    value: number,
    attributes: Record<string, unknown>,
    bounds: number[],
  ): void {
    if (!Number.isFinite(value) || value < 0) return;
    const attrs = safeAttributes(attributes);
    const key = `${name}\u0000${JSON.stringify(attrs)}`;
    const h = this.series.get(key) ?? {
      kind: "histogram",
      name,
      unit,
      attrs,
      bounds,
      count: 0,
      sum: 0,
      min: value,
      max: value,
      buckets: new Array<number>(bounds.length + 1).fill(0),
    };
    if (h.kind !== "histogram") return;
    h.count += 1;
    h.sum += value;
    h.min = Math.min(h.min, value);
    h.max = Math.max(h.max, value);
    const at = bounds.findIndex((bound) => value <= bound);
    h.buckets[at === -1 ? bounds.length : at]! += 1;
    this.series.set(key, h);
  }

  /** The OTLP JSON body of everything since the last one; the sums and histograms restart. */
  take(): unknown {
    const start = nanos(this.since);
    const at = this.now();
    const time = nanos(at);
    this.since = at;
    const series = [...this.series.values()];
    this.series = new Map();
    const f = this.figures();
    const device = safeAttributes({ "wegent.device_id": f.deviceId });
    const gauge = (name: string, unit: string, value: number) => ({
      name,
      unit,
      gauge: {
        dataPoints: [{ attributes: keyValues(device), timeUnixNano: time, asInt: String(value) }],
      },
    });
    const metrics: unknown[] = [
      gauge("wegent.executor.slots_in_use", "{slot}", f.slotsInUse),
      gauge("wegent.executor.slots", "{slot}", f.slots),
      gauge("wegent.executor.unacked_frames", "{frame}", f.unackedFrames),
    ];
    for (const s of series) {
      const base = { attributes: keyValues(s.attrs), startTimeUnixNano: start, timeUnixNano: time };
      metrics.push(
        s.kind === "sum"
          ? {
              name: s.name,
              unit: s.unit,
              sum: {
                aggregationTemporality: 1, // delta
                isMonotonic: true,
                dataPoints: [{ ...base, asInt: String(s.value) }],
              },
            }
          : {
              name: s.name,
              unit: s.unit,
              histogram: {
                aggregationTemporality: 1,
                dataPoints: [
                  {
                    ...base,
                    count: String(s.count),
                    sum: s.sum,
                    min: s.min,
                    max: s.max,
                    bucketCounts: s.buckets.map(String),
                    explicitBounds: s.bounds,
                  },
                ],
              },
            },
      );
    }
    return {
      resourceMetrics: [
        {
          resource: { attributes: keyValues({ "service.name": this.serviceName }) },
          scopeMetrics: [{ scope: { name: this.serviceName }, metrics }],
        },
      ],
    };
  }
}

export interface MetricsOptions {
  figures: () => ExecutorFigures;
  intervalMs: number;
  /** A failed export (status 0: unreachable); never the headers. */
  onExportFailed?: (status: number) => void;
  send?: typeof fetch;
}

/** Starts the export timer (unref'd: it never keeps the process alive). */
export function otlpMetrics(config: OtelConfig, options: MetricsOptions): ExecutorMetrics {
  const recorder = new MetricsRecorder(config.serviceName, options.figures);
  const send = options.send ?? ((input, init) => fetch(input, init));
  let sending: Promise<void> = Promise.resolve();
  const exportNow = (): Promise<void> => {
    const body = JSON.stringify(recorder.take());
    sending = sending.then(async () => {
      try {
        const response = await send(config.metricsUrl, {
          method: "POST",
          headers: { "content-type": "application/json", ...config.headers },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.body?.cancel();
        if (!response.ok) options.onExportFailed?.(response.status);
      } catch {
        options.onExportFailed?.(0);
      }
    });
    return sending;
  };
  const timer = setInterval(() => void exportNow(), options.intervalMs);
  timer.unref();
  return {
    enabled: true,
    reconnect(reason: ReconnectReason, closeCode: number) {
      recorder.add("wegent.executor.reconnects", "{reconnect}", {
        "wegent.reconnect_reason": reason,
        "wegent.close_code": closeCode,
      });
    },
    streamLag(ms) {
      recorder.record("wegent.executor.stream_lag", "ms", ms, {}, LAG_BOUNDS);
    },
    messageEnded(m) {
      const runtime = { "wegent.runtime": m.runtime };
      if (m.durationMs !== null) {
        recorder.record(
          "wegent.executor.task.duration",
          "ms",
          m.durationMs,
          { ...runtime, "wegent.status": m.status },
          DURATION_BOUNDS,
        );
      }
      if (m.firstTokenMs !== null) {
        recorder.record(
          "wegent.executor.task.time_to_first_token",
          "ms",
          m.firstTokenMs,
          runtime,
          DURATION_BOUNDS,
        );
      }
      if (m.status === "failed") {
        recorder.add("wegent.executor.task.failures", "{message}", {
          ...runtime,
          "wegent.failure_code": m.code ?? "unknown",
        });
      }
    },
    async shutdown() {
      clearInterval(timer);
      await exportNow();
    },
  };
}
