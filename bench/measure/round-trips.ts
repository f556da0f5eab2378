// (b) D1 round trips per request on the main routes, as the Worker counts them (header
// X-D1-Round-Trips with BENCH_METERS=1), plus the ones the device's hub makes inside the
// request (its meters before and after).
import type { ProtocolDevice } from "../lib/device";
import { readMeters } from "../lib/meters";
import type { BenchUser } from "../lib/platform";

export interface RoundTrips {
  /** Worker's own round trips (session check included). */
  postTask: number;
  /** Round trips the device's hub made while answering the POST (dispatch included). */
  postTaskInHub: number | null;
  getTask: number;
  getDevices: number;
}

async function counted(
  origin: string,
  user: BenchUser,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${origin}${path}`, {
    method,
    headers: { Cookie: user.session.cookie, "Content-Type": "application/json", Origin: origin },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  const header = res.headers.get("X-D1-Round-Trips");
  if (header === null)
    throw new Error(`${method} ${path}: no X-D1-Round-Trips (BENCH_METERS off?)`);
  return { status: res.status, json, trips: Number(header) };
}

/** One of each, sequential, on a quiet device that does not finish the task by itself. */
export async function measureRoundTrips(
  origin: string,
  user: BenchUser,
  device: ProtocolDevice,
): Promise<RoundTrips> {
  const autoComplete = device.options.autoComplete;
  device.options.autoComplete = false;
  try {
    const before = await readMeters(origin, user, device.deviceId);
    const post = await counted(origin, user, "POST", "/api/tasks", {
      message: "round trips",
      target: { deviceId: device.deviceId },
    });
    if (post.status !== 201) throw new Error(`POST /api/tasks answered ${post.status}`);
    const after = await readMeters(origin, user, device.deviceId);
    const task = post.json.task as { id: string };
    const messages = post.json.messages as { id: string; role: string }[];
    const messageId = messages.find((m) => m.role === "assistant")!.id;
    await device.waitFor((f) => f.type === "task:execute" && f.messageId === messageId, 10_000);
    const getTask = await counted(origin, user, "GET", `/api/tasks/${task.id}`);
    const getDevices = await counted(origin, user, "GET", "/api/devices");
    await device.complete(task.id, messageId);
    return {
      postTask: post.trips,
      postTaskInHub:
        before && after
          ? (after.device.d1RoundTrips ?? 0) - (before.device.d1RoundTrips ?? 0)
          : null,
      getTask: getTask.trips,
      getDevices: getDevices.trips,
    };
  } finally {
    device.options.autoComplete = autoComplete;
  }
}
