import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../auth/identity";
import { countingD1, type D1Count, newD1Count } from "../../edge/d1-count";
import { routePath } from "hono/route";
import { tagRequest } from "../telemetry/request";
import { reportRequest } from "../telemetry/request-metrics";

// D1 read replication: every API request runs in a D1 session that starts from the bookmark
// of the user's previous request (cookie for browsers, header for API clients), so a read
// never sees the database from before the user's own last write, wherever it is served.

export const BOOKMARK_COOKIE = "wegent_d1_bookmark";
export const BOOKMARK_HEADER = "X-D1-Bookmark";
/** With BENCH_METERS=1 the Worker says how many D1 round trips a request made. */
export const ROUND_TRIPS_HEADER = "X-D1-Round-Trips";

const BOOKMARK = /^[A-Za-z0-9-]{1,200}$/;

/** The D1 session (and, for the bench, the round-trip count) of one API request. */
export function d1Session(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.header("Upgrade")?.toLowerCase() === "websocket") return next();
    const given = c.req.header(BOOKMARK_HEADER) ?? getCookie(c, BOOKMARK_COOKIE);
    const bookmark = given && BOOKMARK.test(given) ? given : undefined;
    const root = c.env.DB;
    let session: D1DatabaseSession | null = null;
    if (typeof root.withSession === "function") {
      try {
        session = root.withSession(bookmark ?? "first-unconstrained");
      } catch {
        session = root.withSession("first-unconstrained");
      }
    }
    let db = (session ?? root) as unknown as D1Database;
    const count: D1Count = newD1Count();
    // Counted for the bench, and for the request span when tracing is on.
    const tracing = Boolean(c.env.OTEL_EXPORTER_OTLP_ENDPOINT);
    if (c.env.BENCH_METERS === "1" || tracing) db = countingD1(db, count);
    c.env = { ...c.env, DB: db };
    await next();
    if (tracing) {
      const route = routePath(c);
      tagRequest({ "http.route": route, "wegent.d1_round_trips": count.roundTrips });
      const keepAlive = (work: Promise<unknown>) => {
        try {
          c.executionCtx.waitUntil(work);
        } catch {
          void work; // no execution context (a direct app.fetch): it runs on its own
        }
      };
      const { roundTrips } = count;
      reportRequest(c.env, keepAlive, { route, status: c.res.status, roundTrips });
    }
    if (c.env.BENCH_METERS === "1") c.res.headers.set(ROUND_TRIPS_HEADER, String(count.roundTrips));
    const latest = session?.getBookmark();
    if (latest && latest !== bookmark) {
      c.res.headers.set(BOOKMARK_HEADER, latest);
      setCookie(c, BOOKMARK_COOKIE, latest, {
        path: "/api",
        httpOnly: true,
        sameSite: "Lax",
        secure: new URL(c.req.url).protocol === "https:",
      });
    }
  };
}
