import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { availabilityText, type Project, type RuntimeId, type Target } from "@wegent/protocol";
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
 * A device that advertised `runtime`, as the hub decides at submit: one that listed none (an
 * executor from before runtimes were listed) runs Claude Code only.
 */
function runs(runtime: RuntimeId) {
  const r = devices.runtimes;
  const listed = sql`EXISTS (SELECT 1 FROM json_each(${r}) WHERE json_extract(value, '$.id') = ${runtime})`;
  const none = sql`(${r} IS NULL OR NOT json_valid(${r}) OR json_array_length(${r}) = 0)`;
  return runtime === "claude-code" ? sql`(${none} OR ${listed})` : sql`(NOT ${none} AND ${listed})`;
}

/**
 * Where a message runs: the explicit device, else the user's default device if it is online,
 * else the cloud pool (the online cloud executor with the most free slots among those that
 * run `runtime`: in a pool where only some executors offer Codex, a Codex message goes to one
 * that does).
 */
export async function resolveTarget(
  env: Env,
  userId: string,
  target: Target | undefined,
  runtime: RuntimeId = "claude-code",
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
      throw new ApiError(409, "device_offline", `Device ${availabilityText(name, "offline")}`);
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
    .where(and(eq(devices.type, "cloud"), connected, runs(runtime)))
    .orderBy(desc(sql`${devices.maxSlots} - ${devices.slotsUsed}`), asc(devices.queueLength))
    .limit(1)
    .get();
  if (!cloud && runtime !== "claude-code") {
    const any = await db
      .select({ id: devices.deviceId })
      .from(devices)
      .where(and(eq(devices.type, "cloud"), connected))
      .limit(1)
      .get();
    if (any) {
      throw new ApiError(
        409,
        "runtime_unavailable",
        `No cloud executor online runs ${runtime === "codex" ? "Codex" : runtime} right now. Choose one of your devices that does, or another agent.`,
      );
    }
  }
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
