// The DeviceHub's side of capability sync: send the owner's desired capabilities to the device
// (on register, and when the Worker says they changed) and keep what the device reports it
// applied on its D1 row, where listings read it.
import type { AppliedCapabilities, DeviceCapabilitiesFrame } from "@wegent/protocol";
import { desiredCapabilities } from "../capabilities";

interface SyncEnv {
  DB: D1Database;
  JWT_SECRET: string;
}

/**
 * Builds the frame, records its digest as this device's desired one (unless `recorded`, the
 * digest the row already holds, is the same), and sends it.
 */
export async function sendCapabilities(
  env: SyncEnv,
  ownerId: string,
  deviceId: string,
  send: (frame: DeviceCapabilitiesFrame) => void,
  recorded?: string | null,
): Promise<void> {
  const frame = await desiredCapabilities(env, ownerId);
  if (recorded === frame.digest) return send(frame);
  // Raw SQL on purpose: the same compare-and-set as recordDesiredDigest (capabilities.ts), one row.
  await env.DB.prepare(
    `UPDATE devices SET capabilities_desired = ?1,
       capabilities_error = CASE WHEN capabilities_desired IS ?1 THEN capabilities_error ELSE NULL END
     WHERE owner_id = ?2 AND device_id = ?3`,
  )
    .bind(frame.digest, ownerId, deviceId)
    .run();
  send(frame);
}

/** Stores what the device applied; true when it changed (the listing must be pushed). */
export async function storeApplied(
  env: SyncEnv,
  ownerId: string,
  deviceId: string,
  applied: AppliedCapabilities,
): Promise<boolean> {
  // An executor older than the MCP policy reports none: what the row holds stays.
  const policy = applied.policy ? JSON.stringify(applied.policy) : null;
  // Raw SQL on purpose: one conditional UPDATE that writes only when something moved, and whose
  // `changes` says whether it did (the hub publishes only then); IS NOT compares NULLs.
  const result = await env.DB.prepare(
    `UPDATE devices SET capabilities_applied = ?1, capabilities_error = ?2,
       capabilities_policy = COALESCE(?5, capabilities_policy)
     WHERE owner_id = ?3 AND device_id = ?4
       AND (capabilities_applied IS NOT ?1 OR capabilities_error IS NOT ?2
            OR (?5 IS NOT NULL AND capabilities_policy IS NOT ?5))`,
  )
    .bind(applied.digest, applied.error, ownerId, deviceId, policy)
    .run();
  return (result.meta.changes ?? 0) > 0;
}
