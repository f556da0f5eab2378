import { and, eq, ne } from "drizzle-orm";
import { database, schema } from "../../platform/db";

/** The DeviceHub of one device: named by owner and executor device id. */
export function deviceHub(env: Env, ownerId: string, deviceId: string) {
  return env.DEVICE_HUB.get(env.DEVICE_HUB.idFromName(`${ownerId}:${deviceId}`));
}

/** The live channel of one user. */
export function userHub(env: Env, userId: string) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(userId));
}

/** Closes the sockets of every device connected with this (now revoked) token. */
export async function closeDevicesOfToken(env: Env, tokenId: string): Promise<number> {
  const rows = await database(env.DB)
    .select({ ownerId: schema.devices.ownerId, deviceId: schema.devices.deviceId })
    .from(schema.devices)
    .where(and(eq(schema.devices.tokenId, tokenId), ne(schema.devices.status, "offline")))
    .all();
  const closed = await Promise.all(
    rows.map((d) => deviceHub(env, d.ownerId, d.deviceId).revokeToken(tokenId)),
  );
  return closed.filter(Boolean).length;
}
