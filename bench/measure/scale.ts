// (e) Scale: N connected devices (memory per device, dispatch under load) and a reconnect storm
// after `wrangler dev` restarts, with tasks queued before the restart completing afterwards.
// The N devices are FleetDevices: the real executor's connection (dialing, pings, reconnect
// policy), speaking the protocol without Claude Code.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, type Platform } from "../../e2e/harness";
import { connectDevice } from "../lib/device";
import { FleetDevice, FleetLog } from "../lib/fleet-device";
import {
  type BenchUser,
  cpuMs,
  fdLimit,
  openFiles,
  rssBytes,
  workerdPids,
  workerdRoles,
} from "../lib/platform";
import { sleep, type Summary } from "../lib/stats";
import { measureDispatch } from "./dispatch";
import { measureStorm, type StormResult } from "./storm";

export interface ScaleResult {
  devices: number;
  /** How the fleet authenticated (see measureScale). */
  auth: "credential" | "token";
  connectSeconds: number;
  /** Devices registered per second while the fleet connected (50 dialing at a time). */
  connectRate: number;
  /** CPU time per registration while the fleet connected: [workerd, the bench process] (ms). */
  cpuPerRegisterMs: number[];
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** 20 s later, the fleet idle (pings answered by the runtime). */
  rssIdleMiB: number;
  perDeviceIdleKiB: number;
  /** workerd CPU while the fleet sat idle, in cores (1 = one core busy). */
  idleCpuShare: number;
  perDeviceKiB: number;
  /**
   * The same split by process: the runtime (the Worker, the hubs, D1 and R2) and wrangler's dev
   * proxy in front of it (a hop production does not have).
   */
  runtimeKiB: number;
  proxyKiB: number;
  workerdOpenFiles: number;
  workerdFdLimit: string;
  benchFdLimit: string;
  /** Null when a dispatch did not arrive in time (the reason in dispatchError). */
  dispatchUnderLoad: Summary | null;
  dispatchError: string | null;
  /** D1 round trips one device's hub made for one registration (BENCH_METERS). */
  d1PerRegister: number | null;
  storm: StormResult;
}

const note = (text: string) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${text}`);
const totalRss = () => workerdPids().reduce((sum, pid) => sum + rssBytes(pid), 0);
const rssByPid = () => new Map(workerdPids().map((pid) => [pid, rssBytes(pid)]));
const workerdCpu = () => workerdPids().reduce((sum, pid) => sum + cpuMs(pid), 0);
const benchCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const openFilesNow = () => workerdPids().reduce((sum, pid) => sum + openFiles(pid), 0);
const openFilesEach = () => workerdPids().map(openFiles).join(" + ");

/** The hub's D1 round trips so far (null when the platform does not count them). */
async function hubD1(origin: string, user: BenchUser, deviceId: string): Promise<number | null> {
  const res = await api<{ device?: { d1RoundTrips?: number } }>(
    origin,
    "GET",
    `/api/devices/${deviceId}/meters`,
    { cookie: user.session.cookie },
  );
  const count = res.body.device?.d1RoundTrips;
  return res.status === 200 && typeof count === "number" ? count : null;
}

export async function measureScale(
  platform: Platform,
  user: BenchUser,
  n: number,
  dispatches: number,
  queuedDevices: number,
  /** "credential": each device rotates a device credential before every dial, as the executor. */
  auth: "credential" | "token" = "credential",
): Promise<ScaleResult> {
  const origin = platform.origin;
  const homes = mkdtempSync(join(tmpdir(), "wegent-fleet-"));
  await sleep(1_000);
  const rssBefore = totalRss();
  const byPidBefore = rssByPid();
  // The load device (dispatch under load) is a plain protocol device; the fleet is N more.
  const target = await connectDevice({ origin, token: user.token, maxSlots: 1 });
  const log = new FleetLog();
  const fleet = Array.from({ length: n }, (_, i) => {
    const home = auth === "credential" ? join(homes, String(i)) : undefined;
    if (home) mkdirSync(home, { mode: 0o700 });
    return new FleetDevice({ origin, token: user.token, maxSlots: 1, credentialHome: home }, log);
  });
  const t0 = performance.now();
  const cpu0 = [workerdCpu(), benchCpu()];
  for (let i = 0; i < fleet.length; i += 50) {
    const batch = fleet.slice(i, i + 50);
    for (const d of batch) d.start();
    await Promise.all(batch.map((d) => d.whenRegistered(120_000))).catch((error: unknown) => {
      // What wrangler dev said last (a workerd restart, a limit reached) explains it.
      note(`wrangler dev's last output:\n${platform.logs.join("").slice(-1500)}`);
      throw error;
    });
    if ((i + 50) % 500 === 0) note(`${i + 50} registered; workerd open files ${openFilesEach()}`);
  }
  const connectSeconds = (performance.now() - t0) / 1000;
  const cpuPerRegister = [(workerdCpu() - cpu0[0]!) / n, (benchCpu() - cpu0[1]!) / n];
  const d1PerRegister = await hubD1(origin, user, fleet[0]!.deviceId);
  await sleep(2_000);
  const rssAfter = totalRss();
  // Per process: wrangler dev runs a proxy workerd in front of the runtime's.
  const roles = workerdRoles(platform.port);
  const byPidAfter = rssByPid();
  const share = (pids: number[]) =>
    pids.reduce((sum, pid) => sum + (byPidAfter.get(pid) ?? 0) - (byPidBefore.get(pid) ?? 0), 0) /
    1024 /
    (n + 1);
  // Idle hubs hibernate (the runtime answers pings): memory once they had the time to.
  const idleCpu0 = workerdCpu();
  await sleep(20_000);
  const rssIdle = totalRss();
  // The connected fleet's own load (heartbeats every 30 s, the hubs' ping-timeout alarms).
  const idleCpuShare = (workerdCpu() - idleCpu0) / 20_000;
  const workerdOpen = openFilesNow();
  const limit = fdLimit(workerdPids()[0] ?? 0);

  note(
    `memory measured: runtime ${share(roles.runtime).toFixed(0)} KiB + wrangler's proxy ${share(roles.proxy).toFixed(0)} KiB per device; workerd open files ${workerdOpen}`,
  );
  // Dispatch p99 while every device is connected: the load device accepts and completes.
  target.options.autoComplete = true;
  // A dispatch too slow under load is a figure, not the end of the section: the storm follows.
  const underLoad = await measureDispatch(origin, user, target, dispatches).catch(
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  target.close();

  // Queue work that must survive the restart: on each of these devices one task holds the only
  // slot (running, not finished) and a second waits in the queue.
  const holders = fleet.slice(0, queuedDevices);
  const taskIds: string[] = [];
  for (const d of holders) {
    for (let k = 0; k < 2; k++) {
      const res = await api<{ task: { id: string } }>(origin, "POST", "/api/tasks", {
        cookie: user.session.cookie,
        body: { message: `storm ${k}`, target: { deviceId: d.deviceId } },
      });
      if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
      taskIds.push(res.body.task.id);
    }
  }
  const heldBy = Date.now() + 10_000;
  while (!holders.every((d) => d.running.size === 1) && Date.now() < heldBy) await sleep(50);

  note("dispatches done, tasks held and queued; restarting wrangler dev");
  // Bounded: 2 min, or 100 ms per device at scale (4,000 → 6 min 40 s).
  const limitMs = Math.max(120_000, n * 100);
  const storm = await measureStorm(platform, user, fleet, log, holders, taskIds, limitMs);
  await Promise.all(fleet.map((d) => d.close()));
  rmSync(homes, { recursive: true, force: true });
  return {
    auth,
    devices: n,
    connectSeconds,
    connectRate: n / connectSeconds,
    cpuPerRegisterMs: cpuPerRegister,
    rssBeforeMiB: rssBefore / 2 ** 20,
    rssAfterMiB: rssAfter / 2 ** 20,
    rssIdleMiB: rssIdle / 2 ** 20,
    perDeviceIdleKiB: (rssIdle - rssBefore) / 1024 / (n + 1),
    idleCpuShare,
    perDeviceKiB: (rssAfter - rssBefore) / 1024 / (n + 1),
    runtimeKiB: share(roles.runtime),
    proxyKiB: share(roles.proxy),
    workerdOpenFiles: workerdOpen,
    workerdFdLimit: limit,
    benchFdLimit: fdLimit(process.pid),
    dispatchUnderLoad: typeof underLoad === "string" ? null : underLoad.toExecute,
    dispatchError: typeof underLoad === "string" ? underLoad : null,
    d1PerRegister,
    storm,
  };
}
