import { Hono } from "hono";
import { eq } from "drizzle-orm";
import { RuntimeSettings, type RuntimeSettingsBody } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { nowIso } from "../../edge/time";
import { readBody } from "../lib/validate";
import { runtimeSettingsOf } from "../../durable-objects/capabilities";
import { capabilitiesChanged } from "../capabilities/push";
import { auditNote, personOnly } from "../auth/person";

export const runtimeSettingsRoutes = new Hono<AppEnv>();
runtimeSettingsRoutes.use("*", requireUser());

runtimeSettingsRoutes.get("/", async (c) => {
  const runtime = await runtimeSettingsOf(c.env, c.get("user").id);
  return c.json({ runtime } satisfies RuntimeSettingsBody);
});

/** Applied to every new message, on every device of the user (sent with their capabilities). */
runtimeSettingsRoutes.put("/", personOnly("runtime_settings.update"), async (c) => {
  const runtime = await readBody(c, RuntimeSettings);
  auditNote(
    c,
    null,
    [
      `permission mode ${runtime.permissionMode ?? "device's"}`,
      `model ${runtime.model ?? "device's"}`,
      `max turns ${runtime.maxTurns ?? "-"}`,
      `appended prompt ${new TextEncoder().encode(runtime.appendSystemPrompt).length} bytes`,
      `agent env ${runtime.agentEnv.join(", ") || "-"}`,
    ].join("; "),
  );
  const user = c.get("user");
  const updatedAt = nowIso();
  const db = database(c.env.DB);
  // The default permission mode is the user's one setting (user_settings, as PUT /api/settings
  // writes it); the JSON here never carries it. Null clears it: the device's flag applies.
  const settings = { ...runtime, permissionMode: null };
  const mode = runtime.permissionMode;
  await db.batch([
    db
      .insert(schema.runtimeSettings)
      .values({ userId: user.id, settings, updatedAt })
      .onConflictDoUpdate({ target: schema.runtimeSettings.userId, set: { settings, updatedAt } }),
    mode === null
      ? db.delete(schema.userSettings).where(eq(schema.userSettings.userId, user.id))
      : db
          .insert(schema.userSettings)
          .values({ userId: user.id, defaultPermissionMode: mode, updatedAt })
          .onConflictDoUpdate({
            target: schema.userSettings.userId,
            set: { defaultPermissionMode: mode, updatedAt },
          }),
  ]);
  await capabilitiesChanged(c.env, user.id);
  return c.json({ runtime } satisfies RuntimeSettingsBody);
});
