// The bench table's cells: one row type and the number formats every section's rows use.
import type { Summary } from "../lib/stats";

export type Row = [metric: string, measured: string, target: string, met: string];

export const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");
export const pp = (s: Summary, unit = "ms") =>
  `p50 ${f(s.p50)} / p99 ${f(s.p99)} ${unit} (n=${s.n})`;
export const yes = (ok: boolean) => (ok ? "yes" : "**no**");
