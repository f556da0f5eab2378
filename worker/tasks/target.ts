import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { Project, Target } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { ApiError } from "../lib/errors";
import { deviceProjects } from "../../durable-objects/contract";

export interface ResolvedTarget {
  kind: "device" | "cloud";
  ownerId: string;
  deviceId: string;
  name: string;
  /** The device project named by the target (as the device last advertised it), or null. */
  project: Project | null;
}

const { devices } = schema;
const connected = inArray(devices.status, ["online", "busy"]);

/**
 * Where a message runs: the explicit device, else the user's default device if it is online,
 * else the cloud pool (the online cloud executor with the most free slots).
 */
export async function resolveTarget(
  env: Env,
  userId: string,
  target: Target | undefined,
): Promise<ResolvedTarget> {
  const db = database(env.DB);
  if (target && target !== "cloud") {
    const row = await db
      .select()
      .from(devices)
      .where(and(eq(devices.ownerId, userId), eq(devices.deviceId, target.deviceId)))
      .get();
    if (!row) throw new ApiError(404, "not_found", "device not found");
    if (row.status === "offline") {
      const name = row.customName ?? row.name;
      throw new ApiError(
        409,
        "device_offline",
        `Device ${name} is offline. Start wegent-executor on it, or choose another device.`,
      );
    }
    let project: Project | null = null;
    if (target.projectId !== undefined) {
      // Only a project this very device advertised: ids of other devices (or made up) are refused.
      project = deviceProjects(row).find((p) => p.id === target.projectId) ?? null;
      if (!project) {
        throw new ApiError(
          404,
          "project_not_found",
          `Device ${row.customName ?? row.name} offers no such project.`,
        );
      }
    }
    return {
      kind: row.type === "cloud" ? "cloud" : "device",
      ownerId: row.ownerId,
      deviceId: row.deviceId,
      name: row.customName ?? row.name,
      project,
    };
  }
  if (!target) {
    const fallback = await db
      .select()
      .from(devices)
      .where(and(eq(devices.ownerId, userId), eq(devices.isDefault, true), connected))
      .get();
    if (fallback) {
      return {
        kind: "device",
        ownerId: fallback.ownerId,
        deviceId: fallback.deviceId,
        name: fallback.customName ?? fallback.name,
        project: null,
      };
    }
  }
  const cloud = await db
    .select()
    .from(devices)
    .where(and(eq(devices.type, "cloud"), connected))
    .orderBy(desc(sql`${devices.maxSlots} - ${devices.slotsUsed}`), asc(devices.queueLength))
    .limit(1)
    .get();
  if (!cloud) {
    throw new ApiError(
      503,
      "no_cloud_capacity",
      "No cloud executor is online right now. Choose one of your devices, or try again later.",
    );
  }
  return {
    kind: "cloud",
    ownerId: cloud.ownerId,
    deviceId: cloud.deviceId,
    name: "Cloud",
    project: null,
  };
}
