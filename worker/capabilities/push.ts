import { and, eq, ne } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { deviceHub } from "../../durable-objects/contract";
import { desiredCapabilities, recordDesiredDigest } from "../../durable-objects/capabilities";

/**
 * After any change to a user's skills, MCP servers or runtime settings: record the new desired
 * digest on their devices and send the new state to each one that is connected. Offline
 * devices get it when they register again.
 */
export async function capabilitiesChanged(env: Env, ownerId: string): Promise<void> {
  const desired = await desiredCapabilities(env, ownerId);
  await recordDesiredDigest(env, ownerId, desired.digest);
  const d = schema.devices;
  const online = await database(env.DB)
    .select({ deviceId: d.deviceId })
    .from(d)
    .where(and(eq(d.ownerId, ownerId), eq(d.type, "local"), ne(d.status, "offline")))
    .all();
  await Promise.all(
    online.map((row) =>
      deviceHub(env, ownerId, row.deviceId)
        .pushCapabilities()
        .catch(() => undefined),
    ),
  );
}
