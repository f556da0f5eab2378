// The rows of (a)–(c) measured straight to the runtime (bench/measure/direct.ts).
import { f, pp, type Row, yes } from "./cells";
import type { DirectResult } from "./direct";
import type { DispatchResult } from "./dispatch";

export function directRows(d: DirectResult, viaProxy?: DispatchResult): Row[] {
  const base = d.raw.echo.p50;
  const x = (v: number) => `${f(v / base, 1)}×`;
  const b = d.dispatch;
  const proxyCost = viaProxy ? ` (through wrangler's proxy: ${f(viaProxy.assetFloor.p50)} ms)` : "";
  return [
    [
      "(a′) JSON round trip through the DeviceHub, straight to the runtime",
      pp(d.raw.echo),
      "—",
      "—",
    ],
    [
      "(b′) runtime floor straight to the runtime: GET / (no Worker code)",
      `${pp(b.assetFloor)} = ${x(b.assetFloor.p50)} (a′)${proxyCost}`,
      "—",
      "—",
    ],
    [
      "(b′) HTTP floor straight to the runtime: POST → 404 (Worker middleware, no D1, no hub)",
      `${pp(b.httpFloor)} = ${x(b.httpFloor.p50)} (a′)`,
      "—",
      "—",
    ],
    [
      "(b′) one D1 round trip straight to the runtime: GET /api/health (SELECT 1)",
      `${pp(b.d1Floor)} = ${x(b.d1Floor.p50)} (a′); over the HTTP floor: ${f(b.d1Floor.p50 - b.httpFloor.p50)} ms`,
      "—",
      "—",
    ],
    [
      "(b′) dispatch straight to the runtime: POST sent → task:execute",
      `${pp(b.toExecute)} = ${x(b.toExecute.p50)} (a′)`,
      "≤ 3×",
      yes(b.toExecute.p50 / base <= 3),
    ],
    [
      "(b′) POST /api/tasks answered straight to the runtime",
      `${pp(b.post)} = ${x(b.post.p50)} (a′)`,
      "≤ 5×",
      yes(b.post.p50 / base <= 5),
    ],
    [
      "(c′) relay straight to the runtime: task:progress → browser message:delta",
      `${pp(d.relay.latency)} = ${x(d.relay.latency.p50)} (a′)`,
      "≤ 2×",
      yes(d.relay.latency.p50 / base <= 2),
    ],
  ];
}
