import { Hono } from "hono";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import {
  DeviceId,
  RuntimeSettings,
  type RuntimeSettingsBody,
  SetDeviceSlots,
} from "@wegent/protocol";
import { database, schema } from "../db";
import { type AppEnv, requireUser } from "../auth/identity";
import { notFound } from "../lib/errors";
import { nowIso } from "../lib/time";
import { readBody, readParams } from "../lib/validate";
import { runtimeSettingsOf } from "../capabilities/desired";
import { capabilitiesChanged } from "../capabilities/push";
import { deviceHub } from "../devices/hubs";
import { toDevice, type DeviceRow } from "../../durable-objects/catalogue";

export const settingsRoutes = new Hono<AppEnv>();
settingsRoutes.use("*", requireUser());

settingsRoutes.get("/runtime", async (c) => {
  const runtime = await runtimeSettingsOf(c.env, c.get("user").id);
  return c.json({ runtime } satisfies RuntimeSettingsBody);
});

/** Applied to every new message, on every device of the user (sent with their capabilities). */
settingsRoutes.put("/runtime", async (c) => {
  const runtime = await readBody(c, RuntimeSettings);
  const user = c.get("user");
  const updatedAt = nowIso();
  await database(c.env.DB)
    .insert(schema.runtimeSettings)
    .values({ userId: user.id, settings: runtime, updatedAt })
    .onConflictDoUpdate({
      target: schema.runtimeSettings.userId,
      set: { settings: runtime, updatedAt },
    })
    .run();
  await capabilitiesChanged(c.env, user.id);
  return c.json({ runtime } satisfies RuntimeSettingsBody);
});

const DevicePath = z.object({ id: DeviceId });

/** Per device: how many tasks run at once (1-5, never more than the executor offers). */
settingsRoutes.put("/devices/:id/slots", async (c) => {
  const { id } = readParams(c, DevicePath);
  const { maxSlots } = await readBody(c, SetDeviceSlots);
  const user = c.get("user");
  const where = and(eq(schema.devices.ownerId, user.id), eq(schema.devices.deviceId, id));
  const db = database(c.env.DB);
  const found = await db
    .select({ id: schema.devices.deviceId })
    .from(schema.devices)
    .where(where)
    .get();
  if (!found) throw notFound("device");
  await db.update(schema.devices).set({ slotLimit: maxSlots }).where(where).run();
  await deviceHub(c.env, user.id, id).setSlotLimit(maxSlots);
  const row = await c.env.DB.prepare("SELECT * FROM devices WHERE owner_id = ? AND device_id = ?")
    .bind(user.id, id)
    .first<DeviceRow>();
  if (!row) throw notFound("device");
  return c.json({ device: toDevice(row) });
});
