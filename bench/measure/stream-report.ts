// Rows of (g) streaming and (h) cost for the bench table and docs/benchmarks.md.
import { type Row, f, yes } from "./cells";
import type { Meters } from "../lib/meters";
import type { Summary } from "../lib/stats";
import type { ModeResult, StreamResult } from "./stream";

const money = (v: number) => (Number.isFinite(v) ? `$${v.toPrecision(3)}` : "n/a");

/**
 * Cloudflare's published prices (Workers Paid, beyond the included amounts), as of the date in
 * docs/benchmarks.md: Durable Objects requests (incoming WebSocket messages billed 20:1), SQLite
 * in Durable Objects and D1 rows.
 */
export const PRICES = {
  doRequestPerMillion: 0.15,
  wsMessagesPerBilledRequest: 20,
  rowsReadPerMillion: 0.001,
  rowsWrittenPerMillion: 1.0,
};

export interface Cost {
  doRequests: number;
  wsMessages: number;
  sqliteRowsWritten: number;
  sqliteRowsRead: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  usd: number;
}

/** What the counted work costs, scaled by `scale` (e.g. 1000 / events). */
export function costOf(m: Meters, scale: number): Cost {
  const sum = (k: string) => ((m.device[k] ?? 0) + (m.user[k] ?? 0)) * scale;
  const wsIn = sum("wsIn");
  const doRequests = sum("requests") + wsIn / PRICES.wsMessagesPerBilledRequest;
  const c = {
    doRequests,
    wsMessages: wsIn + sum("wsOut"),
    sqliteRowsWritten: sum("sqlRowsWritten"),
    sqliteRowsRead: sum("sqlRowsRead"),
    d1RowsRead: sum("d1RowsRead"),
    d1RowsWritten: sum("d1RowsWritten"),
  };
  const usd =
    (c.doRequests * PRICES.doRequestPerMillion +
      (c.sqliteRowsRead + c.d1RowsRead) * PRICES.rowsReadPerMillion +
      (c.sqliteRowsWritten + c.d1RowsWritten) * PRICES.rowsWrittenPerMillion) /
    1e6;
  return { ...c, usd };
}

export const costLine = (c: Cost) =>
  `DO requests ${f(c.doRequests, 1)}, WS messages ${f(c.wsMessages, 0)}, SQLite rows written ${f(c.sqliteRowsWritten, 0)} (read ${f(c.sqliteRowsRead, 0)}), D1 rows read ${f(c.d1RowsRead, 1)} / written ${f(c.d1RowsWritten, 1)} → ${money(c.usd)}`;

function modeRows(s: StreamResult, m: ModeResult, alone: Summary): Row[] {
  const ratio = m.long.ms / alone.p50;
  const lag = Math.max(...m.steady.lagMs);
  const eps = (m.long.events / m.long.ms) * 1000;
  const label = m.mode === "batched" ? "batched" : "unbatched (WEGENT_OUTPUT_BATCH_MAX=1)";
  const rows: Row[] = [
    [
      `(g) ${s.deltas}-delta reply → browser, ${label}`,
      `p50 ${f(m.long.ms, 0)} ms (${m.long.runs.map((r) => f(r, 0)).join(", ")}; after a warm-up task) = ${f(ratio, 2)}× Claude alone; ${m.long.events} events in ${m.long.liveFrames} live frames; ${m.long.lossless ? "all in order, once" : "LOSS/DISORDER"}`,
      "≤ 1.5×",
      yes(ratio <= 1.5 && m.long.lossless),
    ],
    [
      `(g) events/s per device end to end, ${label}`,
      `${f(eps, 0)}/s, lossless: ${m.long.lossless}`,
      "— (Claude Code's own rate bounds it; ≥ 5,000 is (c))",
      "—",
    ],
    [
      `(g) ${m.steady.tasks} tasks × ~${f(m.steady.rate, 0)} deltas/s, end lag, ${label}`,
      `max ${f(lag, 0)} ms (${m.steady.lagMs.map((l) => f(l, 0)).join(", ")}); ${m.steady.lossless ? "nothing lost or repeated" : "LOSS/DISORDER"}`,
      "≤ 250 ms",
      yes(lag <= 250 && m.steady.lossless),
    ],
  ];
  if (m.long.meters)
    rows.push([
      `(h) cost per 1,000 output events, ${label}`,
      costLine(costOf(m.long.meters, 1000 / Math.max(1, m.long.events))),
      "—",
      "—",
    ]);
  return rows;
}

export function streamRows(s: StreamResult): Row[] {
  const out: Row[] = [
    [
      `(g) Claude Code alone, ${s.deltas}-delta reply (${s.aloneEvents} events)`,
      `p50 ${f(s.alone.p50, 0)} ms (n=${s.alone.n}) = ${f((s.aloneEvents / s.alone.p50) * 1000, 0)} events/s`,
      "baseline",
      "—",
    ],
  ];
  const lags = s.aloneSteadyLagMs;
  out.push([
    `(g) the ${lags.length} steady streams through Claude Code alone, its own end lag`,
    `max ${f(Math.max(...lags), 0)} ms (${lags.map((l) => f(l, 0)).join(", ")})`,
    "baseline",
    "—",
  ]);
  for (const m of s.modes) out.push(...modeRows(s, m, s.alone));
  return out;
}

export interface IdleResult {
  seconds: number;
  meters: Meters;
  /** Pings answered by the runtime (the hub never sees them): counted from the interval. */
  pings: number;
}

export function idleRows(idle: IdleResult): Row[] {
  const scale = 3600 / idle.seconds;
  const c = costOf(idle.meters, scale);
  const pingsPerHour = idle.pings * scale;
  const withPings = {
    ...c,
    doRequests: c.doRequests + pingsPerHour / PRICES.wsMessagesPerBilledRequest,
    wsMessages: c.wsMessages + 2 * pingsPerHour,
  };
  withPings.usd = c.usd + (pingsPerHour / PRICES.wsMessagesPerBilledRequest / 1e6) * 0.15;
  return [
    [
      `(h) cost per idle device-hour (real executor idle ${f(idle.seconds, 0)} s, scaled)`,
      `${costLine(withPings)} (incl. ${f(pingsPerHour, 0)} auto-answered pings, counted as billed)`,
      "—",
      "—",
    ],
  ];
}
