import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TRACE_ATTRIBUTES } from "@wegent/protocol";
import { app } from "../app";
import { createToken, signUp } from "./helpers";

// The Worker's D1 round trips per route as a metric (docs/observability.md "The metrics"): the
// real app and D1 in workerd; the OTLP export is caught at the Worker's `fetch` (the workers
// project cannot reach a loopback receiver: every outbound request stops at the test's
// outbound service; e2e/traces.test.ts receives it over real HTTP).

const ENDPOINT = "http://otlp.test";
const original = globalThis.fetch;

interface Export {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function catchExports(): Export[] {
  const got: Export[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(ENDPOINT)) return original(input, init);
    got.push({
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    });
    return new Response("{}", { status: 200 });
  });
  return got;
}
afterEach(() => vi.restoreAllMocks());

async function call(path: string, token: string, otel: Record<string, string>) {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`http://wegent.test${path}`, { headers: { Authorization: `Bearer ${token}` } }),
    { ...env, ...otel },
    ctx,
  );
  await response.text();
  await waitOnExecutionContext(ctx);
  return response;
}

type KV = { key: string; value: Record<string, unknown> };
interface HistogramPoint {
  attributes: KV[];
  count: string;
  sum: number;
  explicitBounds: number[];
}
function roundTripPoints(exports: Export[]) {
  return exports.flatMap((e) => {
    const body = JSON.parse(e.body) as {
      resourceMetrics: {
        scopeMetrics: {
          metrics: { name: string; histogram?: { dataPoints: HistogramPoint[] } }[];
        }[];
      }[];
    };
    return body.resourceMetrics
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.name === "wegent.http.d1_round_trips")
      .flatMap((m) => m.histogram?.dataPoints ?? [])
      .map((dp) => ({
        ...dp,
        attrs: Object.fromEntries(dp.attributes.map((kv) => [kv.key, Object.values(kv.value)[0]])),
      }));
  });
}

describe("D1 round trips per route, as a metric", () => {
  it("sends one histogram point per API request, by route template and status class", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const got = catchExports();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT,
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=key-123",
    };
    expect((await call("/api/devices", token, otel)).status).toBe(200);
    const missing = "/api/tasks/00000000-0000-4000-8000-000000000000";
    expect((await call(missing, token, otel)).status).toBe(404);
    expect(got.map((e) => e.url)).toEqual([`${ENDPOINT}/v1/metrics`, `${ENDPOINT}/v1/metrics`]);
    expect(got[0]!.headers["x-api-key"]).toBe("key-123");
    const points = roundTripPoints(got);
    expect(points.map((p) => p.attrs)).toEqual([
      { "http.route": "/api/devices", "wegent.status_class": "2xx" },
      { "http.route": "/api/tasks/:id", "wegent.status_class": "4xx" },
    ]);
    for (const p of points) {
      expect(p.count).toBe("1");
      expect(p.sum).toBeGreaterThanOrEqual(1); // at least the token's lookup
      expect(p.explicitBounds).toContain(0);
      for (const key of Object.keys(p.attrs)) expect(key in TRACE_ATTRIBUTES, key).toBe(true);
    }
    // Never the URL's id, the token or the key.
    const all = got.map((e) => e.body).join("\n");
    expect(all).not.toContain("00000000-0000-4000-8000-000000000000");
    expect(all).not.toContain(token);
    expect(all).not.toContain("key-123");
  });

  it("sends nothing when no endpoint is set", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const got = catchExports();
    expect((await call("/api/devices", token, {})).status).toBe(200);
    expect(got).toEqual([]);
  });
});
