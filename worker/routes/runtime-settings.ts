import { Hono } from "hono";
import { RuntimeSettings, type RuntimeSettingsBody } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { nowIso } from "../../edge/time";
import { readBody } from "../lib/validate";
import { runtimeSettingsOf } from "../../durable-objects/capabilities";
import { capabilitiesChanged } from "../capabilities/push";

export const runtimeSettingsRoutes = new Hono<AppEnv>();
runtimeSettingsRoutes.use("*", requireUser());

runtimeSettingsRoutes.get("/", async (c) => {
  const runtime = await runtimeSettingsOf(c.env, c.get("user").id);
  return c.json({ runtime } satisfies RuntimeSettingsBody);
});

/** Applied to every new message, on every device of the user (sent with their capabilities). */
runtimeSettingsRoutes.put("/", async (c) => {
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
