// (h) What an idle device costs: a real wegent-executor, registered, doing nothing.
import { startExecutor } from "../../e2e/harness";
import { readMeters, subtractMeters } from "../lib/meters";
import type { BenchUser } from "../lib/platform";
import { sleep } from "../lib/stats";
import type { IdleResult } from "./stream-report";

/** The executor pings every 10 s; the runtime answers without waking the hub. */
const PING_INTERVAL_S = 10;

export async function measureIdle(
  origin: string,
  user: BenchUser,
  seconds: number,
): Promise<IdleResult | null> {
  const ex = startExecutor({ origin, token: user.token });
  try {
    await ex.waitFor(/\bregistered\b/, 30_000);
    await sleep(2_000); // registration's own work is not idle cost
    const before = await readMeters(origin, user, ex.deviceId);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const after = await readMeters(origin, user, ex.deviceId);
    if (!before || !after) return null;
    const measured = (performance.now() - t0) / 1000;
    return {
      seconds: measured,
      meters: subtractMeters(after, before),
      pings: measured / PING_INTERVAL_S,
    };
  } finally {
    await ex.stop("SIGTERM");
  }
}
