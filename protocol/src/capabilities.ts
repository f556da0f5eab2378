import { z } from "zod";
import { PermissionMode } from "./conversation";

// What the platform manages for a user and delivers to each of their devices: skills, MCP
// servers and runtime settings. The desired state has a digest; each device reports the digest
// it applied, so the UI can say synced / pending / failed.

/** Largest skill zip accepted (compressed bytes). */
export const MAX_SKILL_ZIP_BYTES = 1024 * 1024;
/** Largest total of a skill's files once unpacked. */
export const MAX_SKILL_UNPACKED_BYTES = 4 * 1024 * 1024;
/** Most files in one skill. */
export const MAX_SKILL_FILES = 200;
/** Most skills / MCP servers per user. */
export const MAX_SKILLS = 50;
export const MAX_MCP_SERVERS = 30;
/** Largest appended system prompt, in UTF-8 bytes. */
export const MAX_APPEND_PROMPT_BYTES = 16 * 1024;

/** Bounds of `stallSeconds`. */
export const MIN_STALL_SECONDS = 30;
export const MAX_STALL_SECONDS = 86_400;

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/** A skill's name as Claude Code wants it in SKILL.md: lowercase letters, digits, hyphens. */
export const ManagedSkillName = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
    "a skill name uses lowercase letters, digits and '-' (at most 64)",
  );

/** The name of an environment variable on the device. Never one of the executor's own. */
export const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "not a valid environment variable name")
  .refine((name) => !name.toUpperCase().startsWith("WEGENT_"), "WEGENT_* variables stay private");

const McpName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "an MCP server name uses letters, digits, '-' and '_'");

/** An HTTP header name (RFC 9110 token). */
const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, "not a header name");

const Command = z
  .string()
  .min(1)
  .max(1000)
  .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");

export const McpStdio = z.object({
  transport: z.literal("stdio"),
  command: Command,
  args: z
    .array(
      z
        .string()
        .max(2000)
        .regex(/^[^\0]*$/, "no NUL"),
    )
    .max(50)
    .default([]),
  /** Names of variables the device passes from its own environment to the server. */
  env: z.array(EnvName).max(50).default([]),
});

export const McpHttp = z.object({
  transport: z.literal("http"),
  url: z
    .string()
    .max(2000)
    .url()
    .refine((u) => /^https?:\/\//i.test(u), "the URL must start with http:// or https://"),
  /** Header name → the device's environment variable holding its value (no secrets here). */
  headers: z
    .array(z.object({ name: HeaderName, env: EnvName }))
    .max(20)
    .default([]),
});

export const McpServerDefinition = z.discriminatedUnion("transport", [McpStdio, McpHttp]);
export type McpServerDefinition = z.infer<typeof McpServerDefinition>;

export const CreateMcpServer = z.intersection(
  z.object({ name: McpName, enabled: z.boolean().default(true) }),
  McpServerDefinition,
);
export type CreateMcpServer = z.infer<typeof CreateMcpServer>;

export const McpServer = z.intersection(
  z.object({
    id: z.string(),
    name: z.string(),
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
  McpServerDefinition,
);
export type McpServer = z.infer<typeof McpServer>;

export const Skill = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  /** Zip size in bytes. */
  size: z.number().int(),
  sha256: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Skill = z.infer<typeof Skill>;

export const SetEnabled = z.object({ enabled: z.boolean() });

/**
 * Permission modes a user may pick as their default: the conversation's PermissionMode (one
 * enum). The value lives in `user_settings.default_permission_mode` (see worker/routes/settings).
 */
export const AgentPermissionMode = PermissionMode;
export type AgentPermissionMode = PermissionMode;

export const RuntimeSettings = z.object({
  /** Model name or alias; null = the device's default. */
  model: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._:[\]@/-]+$/, "not a model name")
    .nullable()
    .default(null),
  /**
   * The user's default; a message's own permission mode wins over it. Null: none set (the
   * device's flag). Stored as `user_settings.default_permission_mode`, the same value as
   * `GET /api/settings`, never in `runtime_settings`.
   */
  permissionMode: AgentPermissionMode.nullable().default(null),
  maxTurns: z.number().int().min(1).max(1000).nullable().default(null),
  appendSystemPrompt: z
    .string()
    .refine(
      (s) => utf8Bytes(s) <= MAX_APPEND_PROMPT_BYTES,
      `at most ${MAX_APPEND_PROMPT_BYTES} bytes`,
    )
    .default(""),
  /** Names of extra variables of the device's environment the agent may see. */
  agentEnv: z.array(EnvName).max(50).default([]),
  /**
   * A run that produces no output of any kind for this long, while not waiting for the owner,
   * is stopped and fails `agent_stalled`.
   */
  stallSeconds: z.number().int().min(MIN_STALL_SECONDS).max(MAX_STALL_SECONDS).default(600),
  /** A run longer than this fails `run_time_exceeded`; null = no limit. Waiting never counts. */
  maxRunMinutes: z.number().int().min(1).max(10_080).nullable().default(null),
  /**
   * How long a task's Claude Code process stays alive after a reply, so a follow-up goes into
   * the same live session without Claude Code's start (0: close at once). It holds no slot
   * while idle; beyond the device's slot count the oldest idle one is closed. Absent: 300.
   */
  keepWarmSeconds: z.number().int().min(0).max(3600).optional(),
});
export type RuntimeSettings = z.infer<typeof RuntimeSettings>;
export const DEFAULT_RUNTIME_SETTINGS: RuntimeSettings = RuntimeSettings.parse({});

/** Per device: how many tasks may run at once (never more than the executor offers). */
export const SetDeviceSlots = z.object({ maxSlots: z.number().int().min(1).max(5) });

/**
 * What the device's own `device-config.json` lets managed MCP servers do there (`managedMcp`):
 * whether stdio servers start (always on a device whose permission floor is bypassPermissions,
 * else only with `allowStdio`), which of the device's environment variables a definition may
 * read (`allowEnv`, default none), and what was left out for that.
 */
export const DeviceMcpPolicy = z.object({
  /** The device's permission floor (`--permission-mode`). */
  permissionMode: PermissionMode,
  stdio: z.boolean(),
  env: z.array(EnvName).max(100),
  /** One line per server not started, variable not passed or header not sent. */
  skipped: z.array(z.string().max(300)).max(100),
});
export type DeviceMcpPolicy = z.infer<typeof DeviceMcpPolicy>;

export const CapabilityState = z.enum(["synced", "pending", "failed"]);
export const DeviceCapabilities = z.object({
  state: CapabilityState,
  /** The digest the device last applied (null: nothing yet). */
  digest: z.string().nullable(),
  error: z.string().nullable(),
  /** What the device lets managed MCP servers do (null: not reported yet). */
  policy: DeviceMcpPolicy.nullable().optional(),
});
export type DeviceCapabilities = z.infer<typeof DeviceCapabilities>;

export const Digest = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 hex digest");

/** One skill file as the device downloads it. `path` is relative, '/'-separated. */
export const SkillFile = z.object({
  path: z.string().min(1).max(500),
  executable: z.boolean(),
  dataBase64: z.string(),
});
export const SkillBundle = z.object({
  name: ManagedSkillName,
  files: z.array(SkillFile).max(MAX_SKILL_FILES),
});
export type SkillBundle = z.infer<typeof SkillBundle>;

/** What the hub sends a device: the whole desired state (hub → executor frame). */
export const DeviceCapabilitiesFrame = z.object({
  type: z.literal("device:capabilities"),
  digest: Digest,
  skills: z
    .array(
      z.object({
        name: ManagedSkillName,
        sha256: Digest,
        /** Download path, relative to the backend URL. */
        url: z.string().startsWith("/api/").max(2000),
        /** Short-lived token for that download, sent as `Authorization: Bearer` (never in a URL). */
        token: z.string().max(200),
      }),
    )
    .max(MAX_SKILLS),
  mcpServers: z
    .array(z.intersection(z.object({ name: McpName }), McpServerDefinition))
    .max(MAX_MCP_SERVERS),
  runtime: RuntimeSettings,
});
export type DeviceCapabilitiesFrame = z.infer<typeof DeviceCapabilitiesFrame>;

/** What the executor reports (in register and heartbeat frames). */
export const AppliedCapabilities = z.object({
  /** Digest of the state fully applied, or null. */
  digest: Digest.nullable(),
  /** Why the latest desired state could not be applied (whole or part), or null. */
  error: z.string().max(2000).nullable(),
  /** The device's MCP policy (absent from executors older than it). */
  policy: DeviceMcpPolicy.optional(),
});
export type AppliedCapabilities = z.infer<typeof AppliedCapabilities>;

/**
 * synced: the device applied what the owner wants; failed: its latest apply went wrong (the
 * reason is shown); pending: it has not caught up yet (offline, or applying).
 */
export function capabilityStatus(columns: {
  desired: string | null;
  applied: string | null;
  error: string | null;
}): DeviceCapabilities {
  const { desired, applied, error } = columns;
  if (error) return { state: "failed", digest: applied, error };
  if (desired !== null && applied === desired) return { state: "synced", digest: applied, error };
  return { state: "pending", digest: applied, error: null };
}
