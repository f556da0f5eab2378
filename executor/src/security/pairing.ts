// Pairing instead of pasting a token: the executor asks the platform for a short code, prints
// it with the URL where the signed-in owner approves it, and polls until it is approved; the
// answer carries this device's credential.
import { z } from "zod";
import { callApi } from "./http";

const Started = z.object({
  pairingId: z.string().min(1),
  code: z.string().min(1),
  pollSecret: z.string().min(1),
  expiresAt: z.string(),
  approveUrl: z.string(),
});
const Polled = z.discriminatedUnion("state", [
  z.object({ state: z.literal("pending"), expiresAt: z.string().optional() }),
  z.object({ state: z.literal("approved"), credential: z.string().min(1), deviceId: z.string() }),
]);

export class PairingError extends Error {}

export interface PairingOptions {
  backendUrl: string;
  deviceId: string;
  name: string;
  platform: string;
  /** The executor's version, shown to the approver. */
  version: string;
  /** Where the code and URL are printed (stdout). */
  print: (line: string) => void;
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Resolves with the device credential once the owner approved; throws PairingError. */
export async function pairDevice(options: PairingOptions): Promise<string> {
  const { backendUrl, deviceId } = options;
  const start = await callApi(
    backendUrl,
    "POST",
    "/api/pairings/start",
    {},
    {
      deviceId,
      name: options.name,
      platform: options.platform,
      version: options.version,
      deviceType: "local",
    },
  );
  if (start.kind === "unreachable") {
    throw new PairingError(`cannot reach ${backendUrl} to pair this device: ${start.error}`);
  }
  if (start.status === 404 && start.code !== "pairing_not_found") {
    throw new PairingError(
      `${backendUrl} does not offer pairing: pass --token <token> or set WEGENT_TOKEN (create a device token on the Devices page)`,
    );
  }
  if (start.status === 429) {
    throw new PairingError(
      "Too many pairing attempts from this machine; wait a minute and try again.",
    );
  }
  const started = Started.safeParse(start.json);
  if (start.status !== 201 || !started.success) {
    throw new PairingError(
      `pairing could not start: ${start.status} ${start.message ?? "unexpected answer"}`,
    );
  }
  const { pairingId, code, pollSecret, approveUrl } = started.data;
  const expiresAt = Date.parse(started.data.expiresAt);
  options.print(`Pairing code: ${code}`);
  options.print(
    `Approve this device at ${approveUrl} (signed in as its owner); the code expires at ${started.data.expiresAt}.`,
  );
  const expired = () =>
    new PairingError(
      `The pairing code ${code} expired before it was approved. Run wegent-executor again for a new code.`,
    );
  const interval = options.pollIntervalMs ?? 2000;
  for (;;) {
    if (options.signal?.aborted) throw new PairingError("pairing stopped");
    // A few seconds of grace for clock skew; the platform has the last word (410).
    if (!Number.isNaN(expiresAt) && Date.now() > expiresAt + 5000) throw expired();
    const poll = await callApi(
      backendUrl,
      "GET",
      `/api/pairings/${encodeURIComponent(pairingId)}`,
      {
        Authorization: `Bearer ${pollSecret}`,
      },
    );
    if (poll.kind === "answer") {
      if (poll.status === 410 && poll.code === "pairing_used") {
        throw new PairingError(
          "This pairing was already used. Run wegent-executor again for a new code.",
        );
      }
      if (poll.status === 410) throw expired();
      const state = Polled.safeParse(poll.json);
      if (poll.status === 200 && state.success && state.data.state === "approved") {
        if (state.data.deviceId !== deviceId) {
          throw new PairingError("the platform approved a different device id; pairing refused");
        }
        return state.data.credential;
      }
      // 409 `device_exists` / `device_online`: this id is already one of the approver's devices.
      if (
        poll.status === 401 ||
        poll.status === 403 ||
        poll.status === 404 ||
        poll.status === 409
      ) {
        throw new PairingError(`pairing refused by the platform: ${poll.message ?? poll.status}`);
      }
    }
    // Pending, a transient error or the network: ask again.
    await sleep(interval, options.signal);
  }
}
