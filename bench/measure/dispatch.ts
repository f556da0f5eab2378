// (b) Dispatch: POST /api/tasks → the device receives task:execute.
import { api } from "../../e2e/harness";
import type { ProtocolDevice } from "../lib/device";
import type { BenchUser } from "../lib/platform";
import { type Summary, summarize } from "../lib/stats";

export interface DispatchResult {
  /** POST sent → task:execute received by the device. */
  toExecute: Summary;
  /** POST sent → HTTP 201 received. */
  post: Summary;
  /** task:execute arrived before the HTTP answer in this many of n. */
  executeFirst: number;
  /**
   * The floor of any API call here: a POST to an unknown `/api` route, answered 404 by the same
   * stack (wrangler's proxy, the runtime, the Worker's middleware) with no D1 and no hub.
   */
  httpFloor: Summary;
  /**
   * The runtime's own floor: `GET /`, the SPA's index.html served by the assets layer — no
   * Worker code, no D1, no hub; only the HTTP hop (and wrangler's proxy, when it is in the way).
   */
  assetFloor: Summary;
  /** `GET /api/health`: the Worker runs one `SELECT 1` on D1 — the HTTP floor plus one D1 trip. */
  d1Floor: Summary;
}

/** Sequential POSTs that only cross the HTTP stack. */
async function httpFloor(origin: string, user: BenchUser, n: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await api(origin, "POST", "/api/bench-floor", {
      cookie: user.session.cookie,
      body: { message: `floor ${i}` },
    });
    if (res.status !== 404) throw new Error(`the floor request answered ${res.status}`);
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** Sequential GETs of `path` (`/`: the SPA's index.html, answered by the assets layer). */
async function getFloor(origin: string, path: string, n: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`${origin}${path}`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/**
 * Sequential dispatches to a device that accepts each at once, and completes it only after the
 * measurement (its completion's writes would otherwise compete with the answer being measured;
 * a real task runs for seconds). The slot is free again before the next POST.
 */
export async function measureDispatch(
  origin: string,
  user: BenchUser,
  device: ProtocolDevice,
  n: number,
): Promise<DispatchResult> {
  const floor = await httpFloor(origin, user, Math.min(n, 200));
  const assets = await getFloor(origin, "/", Math.min(n, 200));
  const d1 = await getFloor(origin, "/api/health", Math.min(n, 200));
  const autoComplete = device.options.autoComplete;
  device.options.autoComplete = false;
  const arrivals = new Map<string, number>();
  device.onFrame = (frame, at) => {
    if (frame.type === "task:execute") arrivals.set(frame.taskId, at);
  };
  const toExecute: number[] = [];
  const post: number[] = [];
  let executeFirst = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await api<{
      task: { id: string };
      messages: { id: string; role: string; status: string; queuePosition: number | null }[];
    }>(origin, "POST", "/api/tasks", {
      cookie: user.session.cookie,
      body: { message: `dispatch ${i}`, target: { deviceId: device.deviceId } },
    });
    const answered = performance.now();
    if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
    const taskId = res.body.task.id;
    const end = Date.now() + 5_000;
    while (!arrivals.has(taskId) && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
    const at = arrivals.get(taskId);
    if (at === undefined) {
      const devices = await api(origin, "GET", `/api/devices/${device.deviceId}`, {
        cookie: user.session.cookie,
      });
      throw new Error(
        `task:execute for ${taskId} (dispatch ${i + 1}) never arrived; POST said ${JSON.stringify(res.body.messages.map((m) => [m.role, m.status, m.queuePosition]))}; device ${JSON.stringify(devices.body)}; socket open ${device.open}`,
      );
    }
    if (at <= answered) executeFirst += 1;
    toExecute.push(at - t0);
    post.push(answered - t0);
    arrivals.delete(taskId);
    await device.complete(taskId, res.body.messages.find((m) => m.role === "assistant")!.id);
    // The hub writes the freed slot to D1 behind its ack; let that land before the next POST.
    await new Promise((r) => setTimeout(r, 25));
  }
  device.onFrame = null;
  device.options.autoComplete = autoComplete;
  return {
    toExecute: summarize(toExecute),
    post: summarize(post),
    executeFirst,
    httpFloor: floor,
    assetFloor: assets,
    d1Floor: d1,
  };
}
