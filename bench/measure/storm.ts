// (e) The reconnect storm: `wrangler dev` restarts (`platform.restart()`, the local stand-in for
// a deploy) with a fleet of devices connected; each redials with the executor's own policy
// (HubConnection + protocol `reconnectDelay`) and registers again. Timed from the kill and from
// the restarted platform's first answer, with a per-second histogram of connects.
import { api, type Platform } from "../../e2e/harness";
import type { FleetDevice, FleetLog } from "../lib/fleet-device";
import type { BenchUser } from "../lib/platform";
import { sleep } from "../lib/stats";

export interface StormResult {
  devices: number;
  /** Kill → every device registered again (seconds). */
  fromKillSeconds: number;
  /** Kill → the restarted platform first answered /api/health. */
  restartSeconds: number;
  /** First answer → every device registered again. */
  fromUpSeconds: number;
  allRegistered: boolean;
  registeredAgain: number;
  /** Close codes the devices' links went down with, "code×count". */
  closeCodes: string;
  failedDials: number;
  /** Most socket opens / registrations in one second (1 s bins from the first answer). */
  peakConnectsPerSecond: number;
  peakRegistrationsPerSecond: number;
  /** Registrations per second from the first one after the restart to the last. */
  meanRegistrationsPerSecond: number;
  /** Per second after the first answer: [opens, registrations]. */
  histogram: [number, number][];
  /** Dials (credential exchange or upgrade attempts) per second from the kill: the policy's spread. */
  dialsFromKill: number[];
  queued: number;
  completedAfter: number;
  /** `wrangler dev`'s own restart did not answer in its 90 s (the storm is still timed). */
  restartError: string | null;
}

/** Polls /api/health every 50 ms from the kill; resolves with when it first answered 200. */
async function firstAnswer(origin: string, deadline: number): Promise<number> {
  await sleep(500); // the old process is still up for a moment after the signal
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${origin}/api/health`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return Date.now();
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  return Number.NaN;
}

function perSecond(times: number[], from: number, seconds: number): number[] {
  // No first answer within the window (NaN): one bin, the figures say the rest.
  const bins = new Array<number>(Number.isFinite(seconds) ? Math.max(1, seconds) : 1).fill(0);
  for (const t of times) {
    const i = Math.floor((t - from) / 1000);
    if (i >= 0 && i < bins.length) bins[i]! += 1;
  }
  return bins;
}

async function taskStatus(origin: string, user: BenchUser, id: string): Promise<string> {
  try {
    const res = await api<{ task: { status: string } }>(origin, "GET", `/api/tasks/${id}`, {
      cookie: user.session.cookie,
    });
    return res.body.task?.status ?? `HTTP ${res.status}`;
  } catch (error) {
    // The platform may still be coming back (a connection closed under the storm): ask again.
    return `unreachable (${error instanceof Error ? error.message : String(error)})`;
  }
}

/**
 * Restarts the platform with the fleet connected; on `holders` one task runs (holding the only
 * slot) and one is queued before the kill: after the fleet is back the running ones finish and
 * the queued ones are dispatched and complete — all must end `completed`.
 */
export async function measureStorm(
  platform: Platform,
  user: BenchUser,
  fleet: FleetDevice[],
  log: FleetLog,
  holders: FleetDevice[],
  taskIds: string[],
  limitMs = 120_000,
): Promise<StormResult> {
  const origin = platform.origin;
  log.reset();
  const killed = Date.now();
  const deadline = killed + limitMs;
  const up = firstAnswer(origin, deadline);
  // A restart that does not answer in the harness's 90 s still runs: the fleet is timed anyway.
  const restarted = platform.restart().then(
    () => null,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  await sleep(1_000);
  let allAt = Number.NaN;
  while (Date.now() < deadline) {
    if (fleet.every((d) => d.registered && d.registeredAt! > killed)) {
      allAt = Math.max(...fleet.map((d) => d.registeredAt!));
      break;
    }
    await sleep(100);
  }
  const restartError = await restarted;
  // The platform answered first either to the health poll or to a device's upgrade.
  const firstOpen = Math.min(...log.opens.filter((t) => t > killed));
  const answered = await up; // NaN when the health poll never got an answer in the window
  const upAt = Math.min(Number.isFinite(answered) ? answered : Infinity, firstOpen);
  const registeredAgain = fleet.filter((d) => d.registered && d.registeredAt! > killed).length;

  // The held tasks finish now; their queued followers are dispatched and complete at once.
  for (const d of holders) {
    d.options.autoComplete = true;
    for (const [taskId, messageId] of [...d.running]) d.complete(taskId, messageId);
  }
  let completed = 0;
  const settleBy = Date.now() + 60_000;
  while (Date.now() < settleBy) {
    const statuses = await Promise.all(taskIds.map((id) => taskStatus(origin, user, id)));
    completed = statuses.filter((s) => s === "completed").length;
    if (completed === taskIds.length) break;
    for (const d of holders) {
      for (const [taskId, messageId] of [...d.running]) d.complete(taskId, messageId);
    }
    await sleep(500);
  }

  const end = Number.isFinite(allAt) ? allAt : Date.now();
  const seconds = Math.ceil((end - upAt) / 1000) + 1;
  const opens = perSecond(log.opens, upAt, seconds);
  const regs = perSecond(log.registrations, upAt, seconds);
  const afterUp = log.registrations.filter((t) => t >= upAt).sort((a, b) => a - b);
  const span = afterUp.length > 1 ? (afterUp.at(-1)! - afterUp[0]!) / 1000 : Number.NaN;
  return {
    devices: fleet.length,
    fromKillSeconds: (allAt - killed) / 1000,
    restartSeconds: (upAt - killed) / 1000,
    fromUpSeconds: (allAt - upAt) / 1000,
    allRegistered: registeredAgain === fleet.length,
    registeredAgain,
    closeCodes: [...log.closeCodes].map(([code, n]) => `${code}×${n}`).join(", "),
    failedDials: log.failedDials.length,
    peakConnectsPerSecond: Math.max(...opens),
    peakRegistrationsPerSecond: Math.max(...regs),
    meanRegistrationsPerSecond: afterUp.length / span,
    histogram: opens.map((o, i) => [o, regs[i]!]),
    dialsFromKill: perSecond(log.dials, killed, Math.ceil((end - killed) / 1000) + 1),
    queued: taskIds.length,
    completedAfter: completed,
    restartError,
  };
}
