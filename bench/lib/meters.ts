// What the platform did, as counted by its Durable Objects (the bench starts the platform with
// BENCH_METERS=1, which exposes GET /api/devices/:id/meters to the device's owner).
import { api } from "../../e2e/harness";
import type { BenchUser } from "./platform";

/** Counters of the device's hub and of the owner's live-channel hub. */
export interface Meters {
  device: Record<string, number>;
  user: Record<string, number>;
}

export async function readMeters(
  origin: string,
  user: BenchUser,
  deviceId: string,
): Promise<Meters | null> {
  const res = await api<Meters>(origin, "GET", `/api/devices/${deviceId}/meters`, {
    cookie: user.session.cookie,
  });
  return res.status === 200 ? res.body : null;
}

const minus = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));

export function subtractMeters(after: Meters, before: Meters): Meters {
  return { device: minus(after.device, before.device), user: minus(after.user, before.user) };
}
