import { Hono } from "hono";
import { and, desc, eq, inArray, ne, sql } from "drizzle-orm";
import { z } from "zod";
import {
  type DeviceBody,
  type DeviceCredential,
  DeviceId,
  type DevicesBody,
  LocalSessionId,
  type LocalSessionsBody,
  type LocalTranscriptBody,
  ProjectId,
  UpdateDevice,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import {
  type AppContext,
  type AppEnv,
  bearerToken,
  CREDENTIAL_PREFIX,
  requireUser,
  type VerifiedToken,
  verifyApiToken,
} from "../auth/identity";
import {
  acceptForConnect,
  familyTag,
  revokeDeviceCredentials,
  rotate,
  startFamily,
  useDeviceToken,
} from "../auth/credentials";
import { log } from "../../edge/log";
import { ApiError, notFound } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { readBody, readParams, readQuery, readText } from "../lib/validate";
import { deviceHub, HUB_HEADERS, toDevice, userHub } from "../../durable-objects/contract";
import { isWebSocketUpgrade } from "../../edge/websocket";
import { callDevice } from "../devices/rpc";
import { cloudStatus } from "../devices/cloud-status";

export const deviceRoutes = new Hono<AppEnv>();

/** Who the executor is, from its credential or (for compatibility) a token. */
async function executorIdentity(c: AppContext, deviceId: string, connecting: boolean) {
  const bearer = bearerToken(c.req.header("Authorization"));
  if (!bearer) {
    throw new ApiError(
      401,
      "unauthorized",
      "Send the device credential (or a device token) as Authorization: Bearer <secret>.",
    );
  }
  if (bearer.startsWith(CREDENTIAL_PREFIX)) {
    if (!connecting) return { kind: "credential" as const, presented: bearer };
    const row = await acceptForConnect(c.env, bearer, deviceId);
    return {
      kind: "credential" as const,
      presented: bearer,
      ownerId: row.ownerId,
      deviceType: row.deviceType,
      tag: familyTag(row.familyId),
      expiresAt: null,
    };
  }
  const verified = await verifyApiToken(c.env, bearer, (p) => c.executionCtx.waitUntil(p));
  await bindToken(c, verified, deviceId);
  if (verified.scope === "device") {
    // Worth one exchange; connecting with it after that (or exchanging again) is a reuse.
    await useDeviceToken(
      c.env,
      { tokenId: verified.tokenId, ownerId: verified.user.id, exchangedAt: verified.exchangedAt },
      deviceId,
      connecting ? "connect" : "exchange",
    );
  }
  return {
    kind: "token" as const,
    token: verified,
    ownerId: verified.user.id,
    deviceType: verified.scope === "cloud" ? ("cloud" as const) : ("local" as const),
    tag: verified.tokenId,
    expiresAt: verified.expiresAt,
  };
}

/** A device or cloud token belongs to the first device id it is used for. */
async function bindToken(c: AppContext, token: VerifiedToken, deviceId: string): Promise<void> {
  if (token.scope === "user") return;
  // One statement: the first device to use the token wins, even against a racing second one.
  const row = await database(c.env.DB)
    .update(schema.apiTokens)
    .set({ boundDeviceId: sql`COALESCE(${schema.apiTokens.boundDeviceId}, ${deviceId})` })
    .where(eq(schema.apiTokens.id, token.tokenId))
    .returning({ bound: schema.apiTokens.boundDeviceId })
    .get();
  if (row?.bound !== deviceId) {
    log({ event: "token.refused", tokenId: token.tokenId, code: "token_bound" }, "warn");
    throw new ApiError(
      403,
      "token_bound",
      `This ${token.scope} token is bound to another device; make a new one for this device.`,
    );
  }
}

function headerDeviceId(c: AppContext): string {
  const deviceId = DeviceId.safeParse(c.req.header("X-Device-Id"));
  if (!deviceId.success) {
    throw new ApiError(
      400,
      "invalid_device_id",
      "Send a valid device id in the X-Device-Id header.",
    );
  }
  return deviceId.data;
}

/**
 * The executor's socket. The secret is only ever in the Authorization header; the Worker
 * verifies it and forwards the upgrade, with the identity it verified, to the device's hub,
 * which tags the socket with the credential (family) or token that opened it.
 */
deviceRoutes.get("/connect", async (c) => {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade.");
  }
  const deviceId = headerDeviceId(c);
  const who = await executorIdentity(c, deviceId, true);
  if (!("ownerId" in who) || !who.ownerId) throw new Error("unreachable");
  const headers = new Headers({ Upgrade: "websocket" });
  headers.set(HUB_HEADERS.owner, who.ownerId);
  headers.set(HUB_HEADERS.device, deviceId);
  headers.set(HUB_HEADERS.deviceType, who.deviceType);
  headers.set(HUB_HEADERS.tokenId, who.tag);
  if (who.expiresAt) headers.set(HUB_HEADERS.tokenExpiresAt, who.expiresAt);
  for (const name of ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol"]) {
    const value = c.req.header(name);
    if (value) headers.set(name, value);
  }
  const hub = deviceHub(c.env, who.ownerId, deviceId);
  return hub.fetch(new Request("https://hub/connect", { headers }));
});

/**
 * Exchanges a token (starting a fresh credential family for the device) or the device's
 * credential (rotating it) for a new device credential.
 */
deviceRoutes.post("/credential", async (c) => {
  const deviceId = headerDeviceId(c);
  const text = await readText(c.req.raw, 1024);
  if (text.trim() !== "" && text.trim() !== "{}") {
    throw new ApiError(400, "invalid_body", "Send no body, or {}.");
  }
  const who = await executorIdentity(c, deviceId, false);
  if (who.kind === "credential") {
    const rotated = await rotate(c.env, who.presented, deviceId);
    log({ event: "credential.rotated", ownerId: rotated.ownerId, deviceId });
    const body: DeviceCredential = {
      credential: rotated.credential,
      deviceId,
      deviceType: rotated.deviceType,
    };
    return c.json(body);
  }
  const credential = await startFamily(c.env, {
    ownerId: who.ownerId,
    deviceId,
    deviceType: who.deviceType,
    sourceTokenId: who.token.tokenId,
  });
  const body: DeviceCredential = { credential, deviceId, deviceType: who.deviceType };
  return c.json(body);
});

deviceRoutes.use("*", requireUser());

const DevicePath = z.object({ id: DeviceId });

function ownDevice(c: { env: AppEnv["Bindings"] }, ownerId: string, deviceId: string) {
  return ownRow(c.env.DB, "device", schema.devices, {
    key: schema.devices.deviceId,
    id: deviceId,
    owner: schema.devices.ownerId,
    ownerId,
  });
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
  const today = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  const { messages, tasks } = schema;
  const [rows, pools, costs] = await db.batch([
    db
      .select()
      .from(devices)
      // Pool executors an operator runs are listed as the Cloud pool, never as personal devices.
      .where(and(eq(devices.ownerId, user.id), eq(devices.type, "local")))
      .orderBy(desc(devices.isDefault), sql`COALESCE(${devices.customName}, ${devices.name})`),
    db
      .select({
        slotsUsed: devices.slotsUsed,
        maxSlots: devices.maxSlots,
        runtimes: devices.runtimes,
        sandbox: devices.sandbox,
      })
      .from(devices)
      .where(and(eq(devices.type, "cloud"), inArray(devices.status, ["online", "busy"]))),
    // What each of the user's devices cost today (UTC): the user's own messages that ran there.
    db
      .select({
        deviceId: sql<string>`${messages.deviceId}`,
        cost: sql<number>`COALESCE(SUM(${messages.costUsd}), 0)`,
      })
      .from(messages)
      .innerJoin(tasks, eq(tasks.id, messages.taskId))
      .where(
        and(
          eq(tasks.ownerId, user.id),
          eq(messages.deviceOwnerId, user.id),
          sql`${messages.endedAt} >= ${today}`,
        ),
      )
      .groupBy(messages.deviceId),
  ]);
  const spent = new Map(costs.map((row) => [row.deviceId, row.cost]));
  return c.json({
    devices: rows.map((row) => ({ ...toDevice(row), costTodayUsd: spent.get(row.deviceId) ?? 0 })),
    cloud: cloudStatus(pools),
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

/** Rename the device, and/or turn cloud backup of its task workspaces on or off. */
deviceRoutes.patch("/:id", async (c) => {
  const { id } = readParams(c, DevicePath);
  const { name, cloudBackup } = await readBody(c, UpdateDevice);
  const user = c.get("user");
  const device = await ownDevice(c, user.id, id);
  if (cloudBackup !== undefined && device.type !== "local") {
    throw new ApiError(
      409,
      "not_local",
      "Cloud executors always archive task workspaces to the cloud; cloud backup is a setting of your own devices.",
    );
  }
  await updateOwnDevice(c.env, user.id, id, {
    ...(name !== undefined ? { customName: name } : {}),
    ...(cloudBackup !== undefined ? { cloudBackup } : {}),
  });
  if (name !== undefined) await deviceHub(c.env, user.id, id).rename(name);
  if (cloudBackup !== undefined) {
    log({ event: "device.cloud_backup", ownerId: user.id, deviceId: id, cloudBackup });
  }
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
  // A removed device keeps no way back in: its credentials and the tokens bound to it die.
  await revokeDeviceCredentials(c.env, user.id, id);
  await database(c.env.DB)
    .update(schema.apiTokens)
    .set({ revokedAt: sql`COALESCE(${schema.apiTokens.revokedAt}, ${new Date().toISOString()})` })
    .where(and(eq(schema.apiTokens.userId, user.id), eq(schema.apiTokens.boundDeviceId, id)))
    .run();
  await userHub(c.env, user.id).publish({
    type: "device:removed",
    deviceId: id,
  });
  return c.json({ ok: true });
});
