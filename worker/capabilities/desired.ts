import { and, asc, eq } from "drizzle-orm";
import {
  DEFAULT_RUNTIME_SETTINGS,
  type DeviceCapabilitiesFrame,
  McpServerDefinition,
  RuntimeSettings,
} from "@wegent/protocol";
import type { Env } from "../env";
import { database, schema } from "../db";
import { sha256Hex, signJwt } from "../auth/crypto";

/** How long a skill download link in a `device:capabilities` frame stays valid. */
export const SKILL_LINK_SECONDS = 60 * 60;

export const skillKey = (ownerId: string, skillId: string) => `skills/${ownerId}/${skillId}.zip`;

export async function runtimeSettingsOf(env: Env, ownerId: string) {
  const row = await database(env.DB)
    .select({ settings: schema.runtimeSettings.settings })
    .from(schema.runtimeSettings)
    .where(eq(schema.runtimeSettings.userId, ownerId))
    .get();
  const parsed = RuntimeSettings.safeParse(row?.settings ?? {});
  return parsed.success ? parsed.data : DEFAULT_RUNTIME_SETTINGS;
}

/** JSON with sorted keys, so the digest does not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The owner's desired capabilities as the frame a device gets: enabled skills (with fresh
 * signed download links), enabled MCP servers and the runtime settings. The digest covers
 * everything but the links.
 */
export async function desiredCapabilities(
  env: Env,
  ownerId: string,
): Promise<DeviceCapabilitiesFrame> {
  const db = database(env.DB);
  const [skills, servers, runtime] = await Promise.all([
    db
      .select()
      .from(schema.skills)
      .where(and(eq(schema.skills.ownerId, ownerId), eq(schema.skills.enabled, true)))
      .orderBy(asc(schema.skills.name))
      .all(),
    db
      .select()
      .from(schema.mcpServers)
      .where(and(eq(schema.mcpServers.ownerId, ownerId), eq(schema.mcpServers.enabled, true)))
      .orderBy(asc(schema.mcpServers.name))
      .all(),
    runtimeSettingsOf(env, ownerId),
  ]);
  const mcpServers = servers.flatMap((row) => {
    const definition = McpServerDefinition.safeParse(row.definition);
    return definition.success ? [{ name: row.name, ...definition.data }] : [];
  });
  const digest = await sha256Hex(
    canonical({
      skills: skills.map((s) => ({ name: s.name, sha256: s.sha256 })),
      mcpServers,
      runtime,
    }),
  );
  const iat = Math.floor(Date.now() / 1000);
  const links = await Promise.all(
    skills.map(async (s) => {
      const t = await signJwt(
        {
          typ: "skill",
          sub: ownerId,
          sid: s.id,
          sha: s.sha256,
          iat,
          exp: iat + SKILL_LINK_SECONDS,
        },
        env.JWT_SECRET,
      );
      return { name: s.name, sha256: s.sha256, url: `/api/skills/${s.id}/bundle?t=${t}` };
    }),
  );
  return { type: "device:capabilities", digest, skills: links, mcpServers, runtime };
}

/** Records the new desired digest on every device of the owner (one statement). */
export async function recordDesiredDigest(env: Env, ownerId: string, digest: string) {
  await env.DB.prepare(
    `UPDATE devices SET capabilities_desired = ?1,
       capabilities_error = CASE WHEN capabilities_desired IS ?1 THEN capabilities_error ELSE NULL END
     WHERE owner_id = ?2`,
  )
    .bind(digest, ownerId)
    .run();
}
