import {
  otelConfig,
  type OtelConfig,
  safeAttributes,
  type TraceAttributes,
} from "@wegent/protocol";
import { OtlpBatch } from "./otlp-batch";
import { keyValues, resource } from "./otlp-json";
import { EDGE_SERVICE } from "./tracer";

// The hubs' metrics as OTLP/HTTP JSON (docs/observability.md): gauges of a device's figures,
// delta histograms of each message's duration and time to first token, a delta count of
// failures by code. Sent like the spans, at the end of the turn (no timer in a Durable Object);
// with no endpoint every call is a no-op. Attributes pass the same allow-list as spans.

/** Histogram bounds in ms: 50 ms … 10 min. */
export const MS_BOUNDS = [
  50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000,
];

/** D1 round trips of one API request: 0 … 50. */
export const ROUND_TRIP_BOUNDS = [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50];

type Point =
  | { kind: "gauge"; name: string; unit: string; value: number; at: number; attrs: TraceAttributes }
  | {
      kind: "histogram";
      name: string;
      unit: string;
      value: number;
      at: number;
      attrs: TraceAttributes;
      /** Bucket bounds; ms bounds (MS_BOUNDS) when not given. */
      bounds?: number[];
    }
  | {
      kind: "count";
      name: string;
      unit: string;
      value: number;
      at: number;
      attrs: TraceAttributes;
    };

const nanos = (ms: number) => (BigInt(Math.round(ms)) * 1_000_000n).toString();

function metricOf(p: Point) {
  const base = { attributes: keyValues(p.attrs), timeUnixNano: nanos(p.at) };
  if (p.kind === "gauge") {
    return {
      name: p.name,
      unit: p.unit,
      gauge: { dataPoints: [{ ...base, asInt: String(p.value) }] },
    };
  }
  if (p.kind === "count") {
    return {
      name: p.name,
      unit: p.unit,
      sum: {
        aggregationTemporality: 1, // delta: one point per event
        isMonotonic: true,
        dataPoints: [{ ...base, startTimeUnixNano: nanos(p.at), asInt: String(p.value) }],
      },
    };
  }
  const bounds = p.bounds ?? MS_BOUNDS;
  const bucketCounts = [...bounds, Infinity].map((bound, i) =>
    String(p.value <= bound && (i === 0 || p.value > bounds[i - 1]!) ? 1 : 0),
  );
  return {
    name: p.name,
    unit: p.unit,
    histogram: {
      aggregationTemporality: 1,
      dataPoints: [
        {
          ...base,
          startTimeUnixNano: nanos(p.at),
          count: "1",
          sum: p.value,
          min: p.value,
          max: p.value,
          bucketCounts,
          explicitBounds: bounds,
        },
      ],
    },
  };
}

export function metricsBody(serviceName: string, points: Point[]) {
  return {
    resourceMetrics: [
      {
        resource: resource(serviceName),
        scopeMetrics: [{ scope: { name: serviceName }, metrics: points.map(metricOf) }],
      },
    ],
  };
}

export class HubMetrics {
  private readonly batch: OtlpBatch<Point> | null;

  constructor(
    private readonly config: OtelConfig | null,
    keepAlive: (work: Promise<unknown>) => void,
    send: typeof fetch = (input, init) => fetch(input, init),
  ) {
    this.batch = config
      ? new OtlpBatch(
          config.metricsUrl,
          config.headers,
          (points) => metricsBody(config.serviceName, points),
          keepAlive,
          send,
        )
      : null;
  }

  get enabled(): boolean {
    return this.config !== null;
  }

  gauge(name: string, unit: string, value: number, attrs: Record<string, unknown>): void {
    this.add({ kind: "gauge", name, unit, value, at: Date.now(), attrs: safeAttributes(attrs) });
  }

  histogram(
    name: string,
    unit: string,
    value: number,
    attrs: Record<string, unknown>,
    bounds?: number[],
  ): void {
    this.add({
      kind: "histogram",
      name,
      unit,
      value,
      at: Date.now(),
      attrs: safeAttributes(attrs),
      ...(bounds ? { bounds } : {}),
    });
  }

  count(name: string, unit: string, attrs: Record<string, unknown>): void {
    this.add({ kind: "count", name, unit, value: 1, at: Date.now(), attrs: safeAttributes(attrs) });
  }

  private add(point: Point): void {
    this.batch?.add(point);
  }

  /** Sends what was recorded this turn; a failure is logged and dropped, never thrown. */
  async flush(): Promise<void> {
    await this.batch?.flush();
  }
}

/** The metrics of a Durable Object environment (no-op when no endpoint is set). */
export function metricsFor(env: unknown, keepAlive: (work: Promise<unknown>) => void): HubMetrics {
  return new HubMetrics(otelConfig(env, EDGE_SERVICE), keepAlive);
}
