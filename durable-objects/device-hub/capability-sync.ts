// The DeviceHub's side of capability sync: send the owner's desired capabilities to the device
// (on register, and when the Worker says they changed) and keep what the device reports it
// applied on its D1 row, where listings read it.
import type { AppliedCapabilities, DeviceCapabilitiesFrame } from "@wegent/protocol";
import { and, eq, or, sql } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { desiredCapabilities, desiredDigestUpdate } from "../capabilities";

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
  const d = schema.devices;
  await database(env.DB)
    .update(d)
    .set(desiredDigestUpdate(frame.digest))
    .where(and(eq(d.ownerId, ownerId), eq(d.deviceId, deviceId)))
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
  // One conditional UPDATE that writes only when something moved, and whose `changes` says
  // whether it did (the hub publishes only then); IS NOT compares NULLs.
  const d = schema.devices;
  const result = await database(env.DB)
    .update(d)
    .set({
      capabilitiesApplied: applied.digest,
      capabilitiesError: applied.error,
      capabilitiesPolicy: sql<string | null>`COALESCE(${policy}, ${d.capabilitiesPolicy})`,
    })
    .where(
      and(
        eq(d.ownerId, ownerId),
        eq(d.deviceId, deviceId),
        or(
          sql`${d.capabilitiesApplied} IS NOT ${applied.digest}`,
          sql`${d.capabilitiesError} IS NOT ${applied.error}`,
          policy === null ? undefined : sql`${d.capabilitiesPolicy} IS NOT ${policy}`,
        ),
      ),
    )
    .run();
  return (result.meta.changes ?? 0) > 0;
}
