import { and, eq, ne } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { deviceHub } from "../../durable-objects/contract";

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
