// Credential hygiene at start: hide the token from /proc, then make sure this device has
// something to connect with — a stored device credential, the token to exchange, or a fresh
// pairing (local mode without a token).
import type { ExecutorConfig } from "../config";
import type { Logger } from "../log";
import { ensurePrivateHome } from "./credential-store";
import { DeviceAuth } from "./device-auth";
import { PairingError, pairDevice } from "./pairing";
import { scrubProcessSecrets } from "./scrub";

/**
 * The token may have come by environment or argument: both stay readable in
 * /proc/<pid>/environ and /proc/<pid>/cmdline for the process's whole life. Overwrite them.
 */
export function hideToken(token: string | null): ReturnType<typeof scrubProcessSecrets> {
  delete process.env.WEGENT_TOKEN;
  if (token === null) return "not-needed";
  for (let i = process.argv.length - 1; i >= 0; i--) {
    const arg = process.argv[i] ?? "";
    if (arg === token && process.argv[i - 1] === "--token") process.argv.splice(i - 1, 2);
    else if (arg === `--token=${token}`) process.argv.splice(i, 1);
  }
  return scrubProcessSecrets([token]);
}

export async function deviceAuthAtStart(options: {
  config: ExecutorConfig;
  deviceId: string;
  deviceName: string;
  platform: string;
  version: string;
  log: Logger;
}): Promise<{ auth: DeviceAuth } | { error: string }> {
  const { config, log } = options;
  try {
    ensurePrivateHome(config.homeDir);
  } catch (error) {
    return { error: `cannot create ${config.homeDir}: ${String(error)}` };
  }
  const auth = new DeviceAuth({
    backendUrl: config.backendUrl,
    homeDir: config.homeDir,
    deviceId: options.deviceId,
    token: config.token,
    log,
  });
  if (config.token !== null || auth.stored()) return { auth };
  if (config.mode === "cloud") return { error: "no token: --mode cloud needs an operator token" };
  log.info("no token and no stored device credential: pairing this device");
  try {
    const credential = await pairDevice({
      backendUrl: config.backendUrl,
      deviceId: options.deviceId,
      name: options.deviceName,
      platform: options.platform,
      version: options.version,
      print: (line) => process.stdout.write(`${line}\n`),
    });
    auth.store(credential);
    log.info("paired; the device credential is stored", { file: "credential.json" });
    return { auth };
  } catch (error) {
    if (error instanceof PairingError) return { error: error.message };
    throw error;
  }
}
