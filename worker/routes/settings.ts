import { Hono } from "hono";
import { eq } from "drizzle-orm";
import {
  DEFAULT_PERMISSION_MODE,
  PermissionMode,
  RuntimeId,
  type Settings,
  type SettingsBody,
  UpdateSettings,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { nowIso } from "../../edge/time";
import { readBody } from "../lib/validate";
import { capabilitiesChanged } from "../capabilities/push";
import { auditNote, personOnly } from "../auth/person";

export const settingsRoutes = new Hono<AppEnv>();
settingsRoutes.use("*", requireUser());

/** The user's settings, with the defaults for what they never set. */
export async function userSettings(env: Env, userId: string): Promise<Settings> {
  const row = await database(env.DB)
    .select()
    .from(schema.userSettings)
    .where(eq(schema.userSettings.userId, userId))
    .get();
  const mode = PermissionMode.safeParse(row?.defaultPermissionMode);
  const runtime = RuntimeId.safeParse(row?.defaultRuntime);
  return {
    defaultPermissionMode: mode.success ? mode.data : DEFAULT_PERMISSION_MODE,
    defaultRuntime: runtime.success ? runtime.data : "claude-code",
  };
}

settingsRoutes.get("/", async (c) => {
  const settings = await userSettings(c.env, c.get("user").id);
  return c.json({ settings } satisfies SettingsBody);
});

settingsRoutes.put("/", personOnly("settings.update"), async (c) => {
  const body = await readBody(c, UpdateSettings);
  auditNote(
    c,
    null,
    `default permission mode ${body.defaultPermissionMode}${body.defaultRuntime ? `, runtime ${body.defaultRuntime}` : ""}`,
  );
  const runtime = body.defaultRuntime ? { defaultRuntime: body.defaultRuntime } : {};
  const userId = c.get("user").id;
  const now = nowIso();
  await database(c.env.DB)
    .insert(schema.userSettings)
    .values({
      userId,
      defaultPermissionMode: body.defaultPermissionMode,
      updatedAt: now,
      ...runtime,
    })
    .onConflictDoUpdate({
      target: schema.userSettings.userId,
      set: { defaultPermissionMode: body.defaultPermissionMode, updatedAt: now, ...runtime },
    })
    .run();
  // The same value is the runtime settings' permissionMode, sent with the devices' capabilities.
  await capabilitiesChanged(c.env, userId);
  return c.json({ settings: await userSettings(c.env, userId) } satisfies SettingsBody);
});
