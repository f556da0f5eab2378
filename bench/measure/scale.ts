// (e) Scale: N connected devices (memory per device, dispatch under load) and a reconnect storm
// after `wrangler dev` restarts, with tasks queued before the restart completing afterwards.
import { api, type Platform, until } from "../../e2e/harness";
import { ProtocolDevice } from "../lib/device";
import { fdLimit, openFiles, rssBytes, workerdPids, type BenchUser } from "../lib/platform";
import { sleep, type Summary } from "../lib/stats";
import { measureDispatch } from "./dispatch";

export interface ScaleResult {
  devices: number;
  connectSeconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  perDeviceKiB: number;
  workerdOpenFiles: number;
  workerdFdLimit: string;
  dispatchUnderLoad: Summary;
  storm: {
    queued: number;
    fromKillSeconds: number;
    fromUpSeconds: number;
    restartSeconds: number;
    allRegistered: boolean;
    completedAfter: number;
  };
}

const totalRss = () => workerdPids().reduce((sum, pid) => sum + rssBytes(pid), 0);
const openFilesNow = () => workerdPids().reduce((sum, pid) => sum + openFiles(pid), 0);

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Dials until registered again, with jittered backoff, like an executor after an outage. */
async function redial(device: ProtocolDevice, deadline: number): Promise<boolean> {
  let delay = 100 + Math.random() * 400;
  while (Date.now() < deadline) {
    await sleep(delay);
    try {
      await device.connect(10_000);
      await device.register([...device.running], 15_000);
      return true;
    } catch {
      delay = Math.min(5_000, delay * 2) * (0.5 + Math.random());
    }
  }
  return false;
}

export async function measureScale(
  platform: Platform,
  user: BenchUser,
  n: number,
  dispatches: number,
  queuedDevices: number,
): Promise<ScaleResult> {
  const origin = platform.origin;
  await sleep(1_000);
  const rssBefore = totalRss();
  const devices = Array.from(
    { length: n },
    () => new ProtocolDevice({ origin, token: user.token, maxSlots: 1 }, false),
  );
  const t0 = performance.now();
  await inBatches(devices, 50, async (d) => {
    await d.connect(30_000);
    await d.register([], 30_000);
    d.send({ type: "device:heartbeat", runningTaskIds: [] });
    d.sendRaw("ping");
  });
  const connectSeconds = (performance.now() - t0) / 1000;
  await sleep(2_000);
  const rssAfter = totalRss();
  const workerdOpen = openFilesNow();
  const limit = fdLimit(workerdPids()[0] ?? 0);

  // Dispatch p99 while every device is connected: the load device accepts and completes.
  const target = devices[0]!;
  target.options.autoComplete = true;
  const underLoad = await measureDispatch(origin, user, target, dispatches);
  target.options.autoComplete = false;

  // Queue work that must survive the restart: on each of these devices one task holds the only
  // slot (running, not finished) and a second waits in the queue.
  const holders = devices.slice(1, 1 + queuedDevices);
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
  await until(() => holders.every((d) => d.running.size === 1), 10_000, "holders running");

  const killed = performance.now();
  const restart = platform.restart();
  const deadline = Date.now() + 180_000;
  await until(() => devices.every((d) => !d.open), 30_000, "every socket to drop");
  const upPromise = restart.then(() => performance.now());
  const results = await Promise.all(devices.map((d) => redial(d, deadline)));
  const allAt = performance.now();
  const upAt = await upPromise;
  const allRegistered = results.every(Boolean);

  // Finish the held tasks; the queued ones are dispatched next and complete at once.
  for (const d of holders) d.options.autoComplete = true;
  for (const d of holders) {
    const ids = [...d.running];
    d.running.clear();
    for (const taskId of ids) {
      const detail = await api<{ messages: { id: string; role: string; status: string }[] }>(
        origin,
        "GET",
        `/api/tasks/${taskId}`,
        { cookie: user.session.cookie },
      );
      const m = detail.body.messages.find((x) => x.role === "assistant" && x.status === "running");
      if (!m) continue;
      d.send({
        type: "task:complete",
        taskId,
        messageId: m.id,
        seq: 1,
        text: "done",
        sessionId: null,
        usage: null,
        costUsd: null,
      });
    }
  }
  let completed = 0;
  await until(
    async () => {
      completed = 0;
      for (const id of taskIds) {
        const d = await api<{ task: { status: string } }>(origin, "GET", `/api/tasks/${id}`, {
          cookie: user.session.cookie,
        });
        if (d.body.task.status === "completed") completed += 1;
      }
      return completed === taskIds.length;
    },
    60_000,
    "queued tasks to complete after the restart",
  ).catch(() => undefined);

  for (const d of devices) d.close();
  return {
    devices: n,
    connectSeconds,
    rssBeforeMiB: rssBefore / 2 ** 20,
    rssAfterMiB: rssAfter / 2 ** 20,
    perDeviceKiB: (rssAfter - rssBefore) / 1024 / n,
    workerdOpenFiles: workerdOpen,
    workerdFdLimit: limit,
    dispatchUnderLoad: underLoad.toExecute,
    storm: {
      queued: taskIds.length,
      fromKillSeconds: (allAt - killed) / 1000,
      fromUpSeconds: Math.max(0, (allAt - upAt) / 1000),
      restartSeconds: (upAt - killed) / 1000,
      allRegistered,
      completedAfter: completed,
    },
  };
}
