import { Hono } from "hono";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { DeviceId, type DeviceBody, SetDeviceSlots } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { notFound } from "../lib/errors";
import { readBody, readParams } from "../lib/validate";
import { deviceHub, toDevice } from "../../durable-objects/contract";

export const deviceSlotRoutes = new Hono<AppEnv>();
deviceSlotRoutes.use("*", requireUser());

const DevicePath = z.object({ id: DeviceId });

/** Per device: how many tasks run at once (1-5, never more than the executor offers). */
deviceSlotRoutes.put("/:id/slots", async (c) => {
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
  const row = await db.select().from(schema.devices).where(where).get();
  if (!row) throw notFound("device");
  return c.json({ device: toDevice(row) } satisfies DeviceBody);
});
