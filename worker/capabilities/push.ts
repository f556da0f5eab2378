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
  const online = await env.DB.prepare(
    "SELECT device_id FROM devices WHERE owner_id = ? AND type = 'local' AND status != 'offline'",
  )
    .bind(ownerId)
    .all<{ device_id: string }>();
  await Promise.all(
    online.results.map((d) =>
      deviceHub(env, ownerId, d.device_id)
        .pushCapabilities()
        .catch(() => undefined),
    ),
  );
}
