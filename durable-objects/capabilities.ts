// The desired capabilities of a user (skills, MCP servers, runtime settings) as the
// `device:capabilities` frame a device gets, with its digest. Used by the DeviceHub on register
// and by the Worker after every change; drizzle on D1 (edge/db) so it sits below the Worker.
import {
  DEFAULT_RUNTIME_SETTINGS,
  type DeviceCapabilitiesFrame,
  McpServerDefinition,
  PermissionMode,
  RuntimeSettings,
} from "@wegent/protocol";
import { and, asc, eq, sql } from "drizzle-orm";
import { database, schema } from "../edge/db";

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
  const db = database(env.DB);
  const [settings, mode] = await db.batch(runtimeSettingsReads(db, ownerId));
  return parseRuntimeSettings(settings[0], mode[0]);
}

/**
 * The two reads of the runtime settings (each row may be missing), for one D1 batch: the stored
 * JSON as its text (one that does not parse means the defaults, not an error) and the default
 * permission mode.
 */
function runtimeSettingsReads(db: ReturnType<typeof database>, ownerId: string) {
  const { runtimeSettings: r, userSettings: u } = schema;
  return [
    db
      .select({ settings: sql<string>`${r.settings}` })
      .from(r)
      .where(eq(r.userId, ownerId)),
    db.select({ mode: u.defaultPermissionMode }).from(u).where(eq(u.userId, ownerId)),
  ] as const;
}

function parseRuntimeSettings(
  stored: { settings: string } | undefined,
  chosen: { mode: string } | undefined,
) {
  let json: unknown;
  try {
    json = stored?.settings ? JSON.parse(stored.settings) : {};
  } catch {
    json = {};
  }
  const parsed = RuntimeSettings.safeParse(json);
  const runtime = parsed.success ? parsed.data : DEFAULT_RUNTIME_SETTINGS;
  const mode = PermissionMode.safeParse(chosen?.mode);
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
  // One round trip (one D1 batch) for the four reads.
  const db = database(env.DB);
  const { skills: k, mcpServers: m } = schema;
  const [skillRows, serverRows, settings, mode] = await db.batch([
    db
      .select({ id: k.id, name: k.name, sha256: k.sha256 })
      .from(k)
      .where(and(eq(k.ownerId, ownerId), eq(k.enabled, true)))
      .orderBy(asc(k.name)),
    // The definition as its stored text: one that does not parse is skipped below, not fatal.
    db
      .select({ name: m.name, definition: sql<string>`${m.definition}` })
      .from(m)
      .where(and(eq(m.ownerId, ownerId), eq(m.enabled, true)))
      .orderBy(asc(m.name)),
    ...runtimeSettingsReads(db, ownerId),
  ]);
  const skills = { results: skillRows };
  const servers = { results: serverRows };
  const runtime = parseRuntimeSettings(settings[0], mode[0]);
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

/**
 * The new desired digest for a device row: a device's error is kept only while its desired
 * digest stays the same (SQLite's SET reads the row as it was, so this is one compare-and-set).
 */
export function desiredDigestUpdate(digest: string) {
  const d = schema.devices;
  return {
    capabilitiesDesired: digest,
    capabilitiesError: sql<
      string | null
    >`CASE WHEN ${d.capabilitiesDesired} IS ${digest} THEN ${d.capabilitiesError} ELSE NULL END`,
  };
}

/** Records the new desired digest on every local device of the owner (one statement). */
export async function recordDesiredDigest(env: CapabilityEnv, ownerId: string, digest: string) {
  const d = schema.devices;
  await database(env.DB)
    .update(d)
    .set(desiredDigestUpdate(digest))
    .where(and(eq(d.ownerId, ownerId), eq(d.type, "local")))
    .run();
}
