// The (e) scale/storm and (j) live-channel rows of the bench table.
import { type Row, f, pp, yes } from "./cells";
import type { ScaleResult } from "./scale";
import type { StreamsResult } from "./streams";

const at = (ok: boolean, n: number, full: number) => (n >= full ? yes(ok) : `${yes(ok)} at ${n}`);

export function scaleRows(s: ScaleResult): Row[] {
  const t = s.storm;
  const hist = t.histogram.map(([o, r]) => `${o}/${r}`).join(" ");
  return [
    [
      `(e) ${s.devices} devices connected + registered (50 dialing at a time; ${s.auth === "credential" ? "rotating a device credential before each dial, as wegent-executor" : "bare token"})`,
      `${f(s.connectSeconds, 1)} s (${f(s.connectRate, 0)}/s; CPU per registration: workerd ${f(s.cpuPerRegisterMs[0]!, 1)} ms, bench ${f(s.cpuPerRegisterMs[1]!, 1)} ms); workerd RSS ${f(s.rssBeforeMiB, 0)} → ${f(s.rssAfterMiB, 0)} MiB; ${s.workerdOpenFiles} open files (workerd ${s.workerdFdLimit}; bench ${s.benchFdLimit})`,
      "—",
      "—",
    ],
    [
      "(e) memory per connected device in the runtime (the Worker, hubs, D1; 2 s after)",
      `${f(s.runtimeKiB, 1)} KiB; wrangler's dev proxy in front of it (not in production) another ${f(s.proxyKiB, 1)} KiB; both: ${f(s.perDeviceKiB, 1)} KiB, idle 20 s later ${f(s.perDeviceIdleKiB, 1)} KiB (RSS ${f(s.rssIdleMiB, 0)} MiB)`,
      "≤ 512 KiB (at 4,000)",
      at(s.runtimeKiB <= 512, s.devices, 4000),
    ],
    [
      `(e) workerd CPU with ${s.devices} devices connected and idle (heartbeats, ping-timeout alarms)`,
      `${f(s.idleCpuShare * 100, 0)} % of one core`,
      "—",
      "—",
    ],
    [
      "(e) D1 round trips by the hub for one registration",
      s.d1PerRegister === null ? "n/a" : String(s.d1PerRegister),
      "—",
      "—",
    ],
    [
      `(e) dispatch under load (${s.devices} connected)`,
      s.dispatchUnderLoad ? pp(s.dispatchUnderLoad) : `failed: ${s.dispatchError}`,
      "—",
      "—",
    ],
    [
      `(e) restart with ${t.devices} connected → all registered again, from the platform's first answer`,
      `${f(t.fromUpSeconds, 1)} s (${t.registeredAgain}/${t.devices} registered)${t.restartError ? `; wrangler dev's restart: ${t.restartError}` : ""}`,
      "≤ 20 s (at 4,000)",
      at(t.allRegistered && t.fromUpSeconds <= 20, t.devices, 4000),
    ],
    [
      "(e) … the same from the kill (wrangler dev's own restart included)",
      `${f(t.fromKillSeconds, 1)} s (restart ${f(t.restartSeconds, 1)} s, then ${f(t.fromUpSeconds, 1)} s)`,
      "— (a deploy has no such gap)",
      "—",
    ],
    [
      "(e) reconnects spread: peak per second (opens / registrations)",
      `${t.peakConnectsPerSecond} / ${t.peakRegistrationsPerSecond} (mean ${f(t.meanRegistrationsPerSecond, 0)} registrations/s); ${t.failedDials} failed dials; closes ${t.closeCodes || "none"}`,
      "—",
      "—",
    ],
    ["(e) opens/registrations per second after the first answer", hist, "—", "—"],
    [
      "(e) dials per second from the kill (the executor's reconnect policy)",
      t.dialsFromKill.join(" "),
      "spread, no second with all",
      yes(Math.max(...t.dialsFromKill) < t.devices),
    ],
    [
      "(e) tasks running or queued before the restart, completed after",
      `${t.completedAfter}/${t.queued}`,
      "all",
      yes(t.completedAfter === t.queued),
    ],
  ];
}

export function streamsRows(r: StreamsResult): Row[] {
  return [
    [
      `(j) one user's live channel: ${r.devices} devices × ${r.perDevice} tasks at ~${r.rate} deltas/s each`,
      `end lag ${pp(r.lag)} over ${r.streams} streams; ${f(r.deltasPerSecond, 0)} deltas/s received in ${r.liveMessages} live messages`,
      "no stream behind (end lag ≤ 250 ms)",
      yes(r.lag.max <= 250),
    ],
    [
      "(j) every delta once, in order, on the live channel",
      `${r.lossless}/${r.streams} streams (${r.lost} lost, ${r.repeated} repeated)`,
      "all",
      yes(r.lossless === r.streams),
    ],
  ];
}
