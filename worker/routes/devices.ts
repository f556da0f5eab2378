import { Hono } from "hono";
import { and, count, desc, eq, inArray, ne, sql } from "drizzle-orm";
import { z } from "zod";
import {
  type DeviceBody,
  DeviceId,
  type DevicesBody,
  LocalSessionId,
  type LocalSessionsBody,
  type LocalTranscriptBody,
  ProjectId,
  RenameDevice,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, bearerToken, requireUser, verifyApiToken } from "../auth/identity";
import { ApiError, notFound } from "../lib/errors";
import { readBody, readParams, readQuery } from "../lib/validate";
import { deviceHub, HUB_HEADERS, toDevice, userHub } from "../../durable-objects/contract";
import { isWebSocketUpgrade } from "../../edge/websocket";
import { callDevice } from "../devices/rpc";

export const deviceRoutes = new Hono<AppEnv>();

/**
 * The executor's socket. The token is only ever in the Authorization header; the Worker
 * verifies it and forwards the upgrade, with the identity it verified, to the device's hub.
 */
deviceRoutes.get("/connect", async (c) => {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade.");
  }
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) {
    throw new ApiError(401, "unauthorized", "Send the API token as Authorization: Bearer <token>.");
  }
  const verified = await verifyApiToken(c.env, token, (p) => c.executionCtx.waitUntil(p));
  const deviceId = DeviceId.safeParse(c.req.header("X-Device-Id"));
  if (!deviceId.success) {
    throw new ApiError(
      400,
      "invalid_device_id",
      "Send a valid device id in the X-Device-Id header.",
    );
  }
  const headers = new Headers({ Upgrade: "websocket" });
  headers.set(HUB_HEADERS.owner, verified.user.id);
  headers.set(HUB_HEADERS.device, deviceId.data);
  headers.set(HUB_HEADERS.deviceType, verified.scope === "cloud" ? "cloud" : "local");
  headers.set(HUB_HEADERS.tokenId, verified.tokenId);
  headers.set(HUB_HEADERS.tokenExpiresAt, verified.expiresAt);
  for (const name of ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol"]) {
    const value = c.req.header(name);
    if (value) headers.set(name, value);
  }
  const hub = deviceHub(c.env, verified.user.id, deviceId.data);
  return hub.fetch(new Request("https://hub/connect", { headers }));
});

deviceRoutes.use("*", requireUser());

const DevicePath = z.object({ id: DeviceId });

async function ownDevice(c: { env: AppEnv["Bindings"] }, ownerId: string, deviceId: string) {
  const row = await database(c.env.DB)
    .select()
    .from(schema.devices)
    .where(and(eq(schema.devices.ownerId, ownerId), eq(schema.devices.deviceId, deviceId)))
    .get();
  if (!row) throw notFound("device");
  return row;
}

/** Updates one of the user's devices (scoped by owner in the WHERE, not only by the check). */
async function updateOwnDevice(
  env: AppEnv["Bindings"],
  ownerId: string,
  deviceId: string,
  patch: Partial<typeof schema.devices.$inferInsert>,
) {
  await database(env.DB)
    .update(schema.devices)
    .set(patch)
    .where(and(eq(schema.devices.ownerId, ownerId), eq(schema.devices.deviceId, deviceId)))
    .run();
}

deviceRoutes.get("/", async (c) => {
  const user = c.get("user");
  const db = database(c.env.DB);
  const { devices } = schema;
  // The user's devices and the cloud pool's figures in one round trip.
  const [rows, pools] = await db.batch([
    db
      .select()
      .from(devices)
      // Pool executors an operator runs are listed as the Cloud pool, never as personal devices.
      .where(and(eq(devices.ownerId, user.id), eq(devices.type, "local")))
      .orderBy(desc(devices.isDefault), sql`COALESCE(${devices.customName}, ${devices.name})`),
    db
      .select({
        executors: count(),
        used: sql<number>`COALESCE(SUM(${devices.slotsUsed}), 0)`,
        max: sql<number>`COALESCE(SUM(${devices.maxSlots}), 0)`,
      })
      .from(devices)
      .where(and(eq(devices.type, "cloud"), inArray(devices.status, ["online", "busy"]))),
  ]);
  const pool = pools[0];
  return c.json({
    devices: rows.map(toDevice),
    cloud: {
      online: (pool?.executors ?? 0) > 0,
      executors: pool?.executors ?? 0,
      slotsUsed: pool?.used ?? 0,
      maxSlots: pool?.max ?? 0,
    },
  } satisfies DevicesBody);
});

/** The bench's cost figures: what the device's hub and the user's live hub did (BENCH_METERS=1). */
deviceRoutes.get("/:id/meters", async (c) => {
  if (c.env.BENCH_METERS !== "1") throw notFound("route");
  const { id } = readParams(c, DevicePath);
  const user = c.get("user");
  await ownDevice(c, user.id, id);
  const [device, live] = await Promise.all([
    deviceHub(c.env, user.id, id).meters(),
    userHub(c.env, user.id).meters(),
  ]);
  return c.json({ device, user: live });
});

deviceRoutes.get("/:id", async (c) => {
  const { id } = readParams(c, DevicePath);
  return c.json({ device: toDevice(await ownDevice(c, c.get("user").id, id)) });
});

deviceRoutes.put("/:id/default", async (c) => {
  const { id } = readParams(c, DevicePath);
  const user = c.get("user");
  const device = await ownDevice(c, user.id, id);
  if (device.type !== "local") {
    throw new ApiError(409, "not_local", "Only your own local devices can be the default.");
  }
  const db = database(c.env.DB);
  await db.batch([
    db
      .update(schema.devices)
      .set({ isDefault: false })
      .where(and(eq(schema.devices.ownerId, user.id), ne(schema.devices.deviceId, id))),
    db
      .update(schema.devices)
      .set({ isDefault: true })
      .where(and(eq(schema.devices.ownerId, user.id), eq(schema.devices.deviceId, id))),
  ]);
  return c.json({ device: toDevice(await ownDevice(c, user.id, id)) } satisfies DeviceBody);
});

deviceRoutes.delete("/:id/default", async (c) => {
  const { id } = readParams(c, DevicePath);
  const user = c.get("user");
  await ownDevice(c, user.id, id);
  await updateOwnDevice(c.env, user.id, id, { isDefault: false });
  return c.json({ device: toDevice(await ownDevice(c, user.id, id)) } satisfies DeviceBody);
});

deviceRoutes.patch("/:id", async (c) => {
  const { id } = readParams(c, DevicePath);
  const { name } = await readBody(c, RenameDevice);
  const user = c.get("user");
  await ownDevice(c, user.id, id);
  await updateOwnDevice(c.env, user.id, id, { customName: name });
  await deviceHub(c.env, user.id, id).rename(name);
  return c.json({ device: toDevice(await ownDevice(c, user.id, id)) } satisfies DeviceBody);
});

const SessionsQuery = z.object({ projectId: ProjectId.optional() });
const SessionPath = z.object({ id: DeviceId, sessionId: LocalSessionId });

/** Claude Code sessions already on the device (read from it on demand, newest first). */
deviceRoutes.get("/:id/sessions", async (c) => {
  const { id } = readParams(c, DevicePath);
  const { projectId } = readQuery(c, SessionsQuery);
  const user = c.get("user");
  const device = await ownDevice(c, user.id, id);
  if (projectId !== undefined && !toDevice(device).projects.some((p) => p.id === projectId)) {
    throw new ApiError(404, "project_not_found", "This device offers no such project.");
  }
  const body = await callDevice(
    c.env,
    user.id,
    id,
    "sessions.list",
    { projectId: projectId ?? null },
    "project",
  );
  return c.json(body satisfies LocalSessionsBody);
});

/** One local session's transcript, read-only and capped. */
deviceRoutes.get("/:id/sessions/:sessionId", async (c) => {
  const { id, sessionId } = readParams(c, SessionPath);
  const user = c.get("user");
  await ownDevice(c, user.id, id);
  const body = await callDevice(c.env, user.id, id, "sessions.get", { sessionId }, "session");
  return c.json(body satisfies LocalTranscriptBody);
});

const RemoveQuery = z.object({ force: z.enum(["true", "false"]).optional() });

deviceRoutes.delete("/:id", async (c) => {
  const { id } = readParams(c, DevicePath);
  const { force } = readQuery(c, RemoveQuery);
  const user = c.get("user");
  const device = await ownDevice(c, user.id, id);
  const result = await deviceHub(c.env, user.id, id).remove(force === "true");
  if (!result.ok) {
    throw new ApiError(
      409,
      "device_online",
      `Device ${device.customName ?? device.name} is ${result.status}. Removing it stops its executor: repeat with ?force=true.`,
    );
  }
  await database(c.env.DB)
    .delete(schema.devices)
    .where(and(eq(schema.devices.ownerId, user.id), eq(schema.devices.deviceId, id)))
    .run();
  await userHub(c.env, user.id).publish({
    type: "device:removed",
    deviceId: id,
  });
  return c.json({ ok: true });
});
