import type { Device } from "@wegent/protocol";
import { fromNow, useNow } from "../lib/time";
import { href } from "../lib/route";
import { useStore } from "../state/store";

const WARN_WITHIN_MS = 2 * 86_400_000;

/** Devices that are up now but whose token runs out within two days (or already has). */
export function expiringDevices(devices: readonly Device[], now: number): Device[] {
  return devices.filter((device) => {
    if (device.status === "offline" || !device.tokenExpiresAt) return false;
    const expires = Date.parse(device.tokenExpiresAt);
    return !Number.isNaN(expires) && expires - now <= WARN_WITHIN_MS;
  });
}

export function TokenBanner() {
  const { state } = useStore();
  const now = useNow();
  const expiring = expiringDevices(state.devices, now);
  if (expiring.length === 0) return null;
  return (
    <div className="banner warn" role="alert" data-testid="token-expiry-banner">
      {expiring.map((device) => (
        <p key={device.id}>
          The token used by <strong>{device.name}</strong> expires{" "}
          {fromNow(device.tokenExpiresAt, now)}. <a href={href.tokens}>Create a new token</a> and
          restart its executor with it, or the device goes offline.
        </p>
      ))}
    </div>
  );
}
