import { metricsFor, ROUND_TRIP_BOUNDS } from "../../edge/telemetry/metrics";

// The Worker's own metric (docs/observability.md "The metrics"): D1 round trips per API
// request, by route template and status class, sent like the hubs' metrics (OTLP/HTTP JSON to
// `<endpoint>/v1/metrics`) and kept alive with `ctx.waitUntil`. Only called when an endpoint
// is set; the route is the template (`/api/tasks/:id`), never the URL.

export function reportRequest(
  env: unknown,
  keepAlive: (work: Promise<unknown>) => void,
  request: { route: string; status: number; roundTrips: number },
): void {
  const metrics = metricsFor(env, keepAlive);
  if (!metrics.enabled) return;
  metrics.histogram(
    "wegent.http.d1_round_trips",
    "{round_trip}",
    request.roundTrips,
    {
      "http.route": request.route,
      "wegent.status_class": `${Math.floor(request.status / 100)}xx`,
    },
    ROUND_TRIP_BOUNDS,
  );
}
