import type { Target } from "@wegent/protocol";
import { ApiError } from "../lib/errors";
import type { DeviceRow } from "../../durable-objects/catalogue";

export interface ResolvedTarget {
  kind: "device" | "cloud";
  ownerId: string;
  deviceId: string;
  name: string;
}

/**
 * Where a message runs: the explicit device, else the user's default device if it is online,
 * else the cloud pool (the online cloud executor with the most free slots).
 */
export async function resolveTarget(
  env: Env,
  userId: string,
  target: Target | undefined,
): Promise<ResolvedTarget> {
  if (target && target !== "cloud") {
    const row = await env.DB.prepare("SELECT * FROM devices WHERE owner_id = ? AND device_id = ?")
      .bind(userId, target.deviceId)
      .first<DeviceRow>();
    if (!row) throw new ApiError(404, "not_found", "device not found");
    if (row.status === "offline") {
      const name = row.custom_name ?? row.name;
      throw new ApiError(
        409,
        "device_offline",
        `Device ${name} is offline. Start wegent-executor on it, or choose another device.`,
      );
    }
    return {
      kind: row.type === "cloud" ? "cloud" : "device",
      ownerId: row.owner_id,
      deviceId: row.device_id,
      name: row.custom_name ?? row.name,
    };
  }
  if (!target) {
    const fallback = await env.DB.prepare(
      "SELECT * FROM devices WHERE owner_id = ? AND is_default = 1 AND status IN ('online', 'busy')",
    )
      .bind(userId)
      .first<DeviceRow>();
    if (fallback) {
      return {
        kind: "device",
        ownerId: fallback.owner_id,
        deviceId: fallback.device_id,
        name: fallback.custom_name ?? fallback.name,
      };
    }
  }
  const cloud = await env.DB.prepare(
    `SELECT * FROM devices WHERE type = 'cloud' AND status IN ('online', 'busy')
     ORDER BY (max_slots - slots_used) DESC, queue_length ASC LIMIT 1`,
  ).first<DeviceRow>();
  if (!cloud) {
    throw new ApiError(
      503,
      "no_cloud_capacity",
      "No cloud executor is online right now. Choose one of your devices, or try again later.",
    );
  }
  return { kind: "cloud", ownerId: cloud.owner_id, deviceId: cloud.device_id, name: "Cloud" };
}
