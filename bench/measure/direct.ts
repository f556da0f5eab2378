// (a)–(c) again, straight to the runtime: `wrangler dev` puts a proxy worker (one Durable Object
// in a second workerd process, there for hot reload) in front of the Worker, and every request
// and socket to its `--port` crosses it. Production has no such hop. The same measurements on
// the Worker's own address show what the platform costs without it, next to (a)–(c) above.
import { connectDevice } from "../lib/device";
import type { BenchUser } from "../lib/platform";
import { type DispatchResult, measureDispatch } from "./dispatch";
import { measureRaw, type RawResult } from "./raw";
import { measureRelay, type RelayResult } from "./relay";

export interface DirectResult {
  origin: string;
  raw: RawResult;
  dispatch: DispatchResult;
  relay: RelayResult;
}

export async function measureDirect(
  origin: string,
  user: BenchUser,
  n: { raw: number; dispatches: number; relay: number },
): Promise<DirectResult> {
  const device = await connectDevice({ origin, token: user.token, autoComplete: true });
  try {
    const raw = await measureRaw(device, n.raw);
    const dispatch = await measureDispatch(origin, user, device, n.dispatches);
    device.options.autoComplete = false;
    const relay = await measureRelay(origin, user, device, {
      n: n.relay,
      rates: [],
      stepSeconds: 1,
    });
    return { origin, raw, dispatch, relay };
  } finally {
    device.close();
  }
}
