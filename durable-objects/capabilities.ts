// The desired capabilities of a user (skills, MCP servers, runtime settings) as the
// `device:capabilities` frame a device gets, with its digest. Used by the DeviceHub on register
// and by the Worker after every change; plain SQL on D1 so it sits below the Worker.
import {
  DEFAULT_RUNTIME_SETTINGS,
  type DeviceCapabilitiesFrame,
  McpServerDefinition,
  PermissionMode,
  RuntimeSettings,
} from "@wegent/protocol";

/** How long a skill download token in a `device:capabilities` frame stays valid. */
export const SKILL_LINK_SECONDS = 60 * 60;

export const skillKey = (ownerId: string, skillId: string) => `skills/${ownerId}/${skillId}.zip`;

interface CapabilityEnv {
  DB: D1Database;
  JWT_SECRET: string;
}

const encoder = new TextEncoder();
const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(`skill-link:${secret}`),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** A token that opens one version of one skill of one owner until `exp` (unix seconds). */
export async function skillLinkToken(
  secret: string,
  link: { ownerId: string; skillId: string; sha256: string; exp: number },
): Promise<string> {
  const mac = await hmac(secret, `${link.ownerId}:${link.skillId}:${link.sha256}:${link.exp}`);
  return `${link.exp}.${mac}`;
}

/** Checks a token for this skill row; "expired" is told apart so the device can say so. */
export async function checkSkillLinkToken(
  secret: string,
  token: string,
  row: { ownerId: string; skillId: string; sha256: string },
): Promise<"ok" | "bad" | "expired"> {
  const match = /^(\d{1,12})\.([0-9a-f]{64})$/.exec(token);
  if (!match?.[1] || !match[2]) return "bad";
  const exp = Number(match[1]);
  const expected = await skillLinkToken(secret, { ...row, exp });
  // Compare digests of both, so the comparison takes the same time wherever they differ.
  const [a, b] = await Promise.all([sha256Hex(expected), sha256Hex(token)]);
  if (a !== b) return "bad";
  return exp * 1000 <= Date.now() ? "expired" : "ok";
}

/**
 * The user's runtime settings. The default permission mode is not part of the stored JSON: it
 * is the conversation's `user_settings.default_permission_mode` (one setting, two APIs), read
 * in the same query; no row there means none set (null).
 */
export async function runtimeSettingsOf(env: CapabilityEnv, ownerId: string) {
  return parseRuntimeSettings(await runtimeSettingsQuery(env, ownerId).first<SettingsRow>());
}

interface SettingsRow {
  settings: string | null;
  mode: string | null;
}

// Raw SQL on purpose: a SELECT with no FROM of two scalar subqueries (one row even when the user has
// neither row), which drizzle cannot write; it rides in the same D1 batch as the two lists.
function runtimeSettingsQuery(env: CapabilityEnv, ownerId: string) {
  return env.DB.prepare(
    `SELECT (SELECT settings FROM runtime_settings WHERE user_id = ?1) AS settings,
            (SELECT default_permission_mode FROM user_settings WHERE user_id = ?1) AS mode`,
  ).bind(ownerId);
}

function parseRuntimeSettings(row: SettingsRow | null | undefined) {
  let json: unknown;
  try {
    json = row?.settings ? JSON.parse(row.settings) : {};
  } catch {
    json = {};
  }
  const parsed = RuntimeSettings.safeParse(json);
  const runtime = parsed.success ? parsed.data : DEFAULT_RUNTIME_SETTINGS;
  const mode = PermissionMode.safeParse(row?.mode);
  return { ...runtime, permissionMode: mode.success ? mode.data : null };
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
 * download tokens), enabled MCP servers and the runtime settings. The digest covers everything
 * but the tokens.
 */
export async function desiredCapabilities(
  env: CapabilityEnv,
  ownerId: string,
): Promise<DeviceCapabilitiesFrame> {
  // One round trip for the three reads.
  // Raw SQL on purpose: one D1 batch with the settings read above (a raw statement; a drizzle batch
  // takes only drizzle queries), so the two list reads are raw too.
  const [skillRows, serverRows, settingsRows] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(
      "SELECT id, name, sha256 FROM skills WHERE owner_id = ? AND enabled = 1 ORDER BY name",
    ).bind(ownerId),
    env.DB.prepare(
      "SELECT name, definition FROM mcp_servers WHERE owner_id = ? AND enabled = 1 ORDER BY name",
    ).bind(ownerId),
    runtimeSettingsQuery(env, ownerId),
  ]);
  const skills = {
    results: (skillRows?.results ?? []) as { id: string; name: string; sha256: string }[],
  };
  const servers = {
    results: (serverRows?.results ?? []) as { name: string; definition: string }[],
  };
  const runtime = parseRuntimeSettings(settingsRows?.results[0] as SettingsRow | undefined);
  const mcpServers = servers.results.flatMap((row) => {
    let json: unknown;
    try {
      json = JSON.parse(row.definition);
    } catch {
      return [];
    }
    const definition = McpServerDefinition.safeParse(json);
    return definition.success ? [{ name: row.name, ...definition.data }] : [];
  });
  const digest = await sha256Hex(
    canonical({
      skills: skills.results.map((s) => ({ name: s.name, sha256: s.sha256 })),
      mcpServers,
      runtime,
    }),
  );
  const exp = Math.floor(Date.now() / 1000) + SKILL_LINK_SECONDS;
  const links = await Promise.all(
    skills.results.map(async (s) => ({
      name: s.name,
      sha256: s.sha256,
      url: `/api/skills/${s.id}/bundle`,
      token: await skillLinkToken(env.JWT_SECRET, {
        ownerId,
        skillId: s.id,
        sha256: s.sha256,
        exp,
      }),
    })),
  );
  return { type: "device:capabilities", digest, skills: links, mcpServers, runtime };
}

/** Records the new desired digest on every device of the owner (one statement). */
export async function recordDesiredDigest(env: CapabilityEnv, ownerId: string, digest: string) {
  // Raw SQL on purpose: one statement on every local device of the owner that keeps a device's
  // error only while its desired digest stays the same (CASE on the old value in the same row).
  await env.DB.prepare(
    `UPDATE devices SET capabilities_desired = ?1,
       capabilities_error = CASE WHEN capabilities_desired IS ?1 THEN capabilities_error ELSE NULL END
     WHERE owner_id = ?2 AND type = 'local'`,
  )
    .bind(digest, ownerId)
    .run();
}
