import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

// Times are ISO-8601 strings (UTC): readable in a SQL shell and sortable.
const createdAt = () =>
  text("created_at")
    .notNull()
    .default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`);

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    /** argon2id in PHC format; older rows `pbkdf2$<iterations>$<salt>$<hash>` (upgraded at sign-in). */
    passwordHash: text("password_hash").notNull(),
    isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("users_username_unique").on(sql`lower(${t.username})`)],
);

/** Browser sessions: the cookie's JWT names one; sign-out revokes it. */
export const sessions = sqliteTable("sessions", {
  id: text("id").primaryKey(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  createdAt: createdAt(),
  expiresAt: text("expires_at").notNull(),
  revokedAt: text("revoked_at"),
});

/**
 * Fixed-window attempt counters (sign-in per account+client and per client, pairing starts and
 * approvals): counted by one atomic upsert before the guarded work happens.
 */
export const loginThrottle = sqliteTable("login_throttle", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartedAt: integer("window_started_at").notNull(),
  lockedUntil: integer("locked_until"),
});

/** API tokens. The secret itself is never stored: only its SHA-256. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** `device`: connect-only; `user`: account API; `cloud`: operator (pool executors). */
    scope: text("scope", { enum: ["device", "user", "cloud"] }).notNull(),
    /** For `device` and `cloud` tokens: the first device id it was used for; others refused. */
    boundDeviceId: text("bound_device_id"),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: text("expires_at").notNull(),
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
    /** For `device` tokens: when it was exchanged for a device credential (usable once). */
    exchangedAt: text("exchanged_at"),
  },
  (t) => [index("api_tokens_user").on(t.userId)],
);

/**
 * Devices, one row per (owner, executor device id). Status and slot figures are written
 * through by the device's DeviceHub so listings need no fan-out.
 */
export const devices = sqliteTable(
  "devices",
  {
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    deviceId: text("device_id").notNull(),
    name: text("name").notNull(),
    /** Set when the user renames the device; survives re-registration. */
    customName: text("custom_name"),
    type: text("type", { enum: ["local", "cloud"] }).notNull(),
    platform: text("platform").notNull(),
    version: text("version").notNull(),
    status: text("status", { enum: ["online", "busy", "reconnecting", "offline"] }).notNull(),
    slotsUsed: integer("slots_used").notNull().default(0),
    maxSlots: integer("max_slots").notNull(),
    queueLength: integer("queue_length").notNull().default(0),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    tokenId: text("token_id"),
    tokenExpiresAt: text("token_expires_at"),
    /** The owner's command keys the executor advertised (JSON array of OwnerCommandInfo). */
    commands: text("commands"),
    lastSeenAt: text("last_seen_at"),
    /** The projects the executor advertises (JSON array of protocol's Project), owner-only. */
    projects: text("projects").notNull().default("[]"),
    /** JSON `{ kind: "credential_reuse", at }`: something the owner must see. */
    securityEvent: text("security_event"),
    /** The owner's limit on parallel tasks (1-5); null = what the executor offers. */
    slotLimit: integer("slot_limit"),
    /** Cloud pool: JSON DeviceSandbox its executor reported at register; null otherwise. */
    sandbox: text("sandbox"),
    /** Digest of the owner's desired capabilities, written on every change. */
    capabilitiesDesired: text("capabilities_desired"),
    /** Digest the device last reported as applied, and why the latest apply failed. */
    capabilitiesApplied: text("capabilities_applied"),
    capabilitiesError: text("capabilities_error"),
    /**
     * JSON: what the device's own device-config.json lets managed MCP servers do (stdio
     * servers allowed, the variables they may read) and what it skipped for that; null: never
     * reported (an older executor).
     */
    capabilitiesPolicy: text("capabilities_policy"),
    /**
     * The owner chose to back this local device's task workspaces up to R2 (the hourly cleanup
     * archives them there); off: they are kept on the device (local snapshots). Cloud: ignored.
     */
    cloudBackup: integer("cloud_backup", { mode: "boolean" }).notNull().default(false),
    /** What the executor found of its runtimes (JSON array of protocol's DeviceRuntime). */
    runtimes: text("runtimes"),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.ownerId, t.deviceId] }),
    index("devices_type_status").on(t.type, t.status),
  ],
);

export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    target: text("target", { enum: ["device", "cloud"] }).notNull(),
    /** The device the task runs on (for cloud: the pool device picked, with its owner). */
    deviceOwnerId: text("device_owner_id"),
    deviceId: text("device_id"),
    /** The device project it works in (null: scratch workspace), its name, and its branch. */
    projectId: text("project_id"),
    projectName: text("project_name"),
    branch: text("branch"),
    status: text("status").notNull(),
    createdAt: createdAt(),
    updatedAt: text("updated_at").notNull(),
    /** The terminal (Claude Code) session this task continued, read from the device on demand. */
    continuedSessionId: text("continued_session_id"),
    /** The agent runtime every message of the task runs on. */
    runtime: text("runtime", { enum: ["claude-code", "codex"] })
      .notNull()
      .default("claude-code"),
  },
  (t) => [index("tasks_owner_created").on(t.ownerId, t.createdAt)],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["user", "assistant"] }).notNull(),
    content: text("content").notNull().default(""),
    status: text("status").notNull(),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    deviceOwnerId: text("device_owner_id"),
    deviceId: text("device_id"),
    sessionId: text("session_id"),
    startedAt: text("started_at"),
    endedAt: text("ended_at"),
    usage: text("usage", { mode: "json" }),
    costUsd: real("cost_usd"),
    createdAt: createdAt(),
    /** The ordered transcript blocks of an assistant message (JSON), written when it ends. */
    blocks: text("blocks", { mode: "json" }),
    /** How the agent could use tools for this message. */
    permissionMode: text("permission_mode"),
    /** Where an ended message's time went (protocol `MessageStages`, JSON), written when it ends. */
    stages: text("stages", { mode: "json" }),
  },
  (t) => [index("messages_task").on(t.taskId, t.createdAt)],
);

/** Per-user settings. */
export const userSettings = sqliteTable("user_settings", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  defaultPermissionMode: text("default_permission_mode").notNull(),
  updatedAt: text("updated_at").notNull(),
  /** The runtime a new task runs on when it names none; null: claude-code. */
  defaultRuntime: text("default_runtime"),
});

/** Saved prompts shown as cards on an empty chat (at most 50 per user). */
export const presets = sqliteTable(
  "presets",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    text: text("text").notNull(),
    deviceId: text("device_id"),
    project: text("project"),
    createdAt: createdAt(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("presets_owner").on(t.ownerId, t.createdAt)],
);

/**
 * Every command run on a device through the command RPC: who, when, which device and key, a
 * digest of the args (not the args), and what came back. Rows with outcome `running` and an
 * unexpired `expires_at` count toward the per-device limit of concurrent commands.
 */
export const commandAudit = sqliteTable(
  "command_audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    deviceId: text("device_id").notNull(),
    /** The user who asked (the device's owner). */
    userId: text("user_id").notNull(),
    key: text("key").notNull(),
    taskId: text("task_id"),
    argsDigest: text("args_digest").notNull(),
    /** running, ok, refused, offline, timeout, error. */
    outcome: text("outcome").notNull(),
    exitCode: integer("exit_code"),
    durationMs: integer("duration_ms"),
    /** UTF-8 bytes of stdout + stderr returned. */
    bytes: integer("bytes"),
    /** Epoch ms after which a `running` row no longer counts (the Worker gave up on it). */
    expiresAt: integer("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("command_audit_device").on(t.ownerId, t.deviceId, t.id)],
);

/**
 * What only a person may do (define MCP servers and skills, change runtime settings and the
 * default permission mode, approve a pairing, answer an agent's request), one row per attempt:
 * who (the session, or the token that was refused), what, when, outcome. Never a secret.
 */
export const accountAudit = sqliteTable(
  "account_audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** `session` or `token` (a token is always refused). */
    via: text("via", { enum: ["session", "token"] }).notNull(),
    /** The session id, or the API token's id. */
    viaId: text("via_id").notNull(),
    action: text("action").notNull(),
    /** What it was done to: an MCP server's or skill's name, a device id, a task id. */
    target: text("target"),
    /** A short summary without secrets (a command's name and argument count, a URL's origin). */
    detail: text("detail"),
    /** `ok`, or the error code it ended with (`session_required`, `not_found`…). */
    outcome: text("outcome").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("account_audit_owner").on(t.ownerId, t.id)],
);

/**
 * Device credentials (`wdc_<id>.<secret>`), one row per issued credential, only the secret's
 * SHA-256 kept. A family is what one token exchange or pairing started; within it at most one
 * `current` and one `pending`; older ones are `retired` (presenting one = reuse, the family is
 * revoked) and `revoked` ones are refused.
 */
export const deviceCredentials = sqliteTable(
  "device_credentials",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    deviceId: text("device_id").notNull(),
    deviceType: text("device_type", { enum: ["local", "cloud"] }).notNull(),
    familyId: text("family_id").notNull(),
    generation: integer("generation").notNull(),
    secretHash: text("secret_hash").notNull(),
    state: text("state", { enum: ["current", "pending", "retired", "revoked"] }).notNull(),
    /** The token exchanged to start the family (null for pairing); revoking it revokes the family. */
    sourceTokenId: text("source_token_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("device_credentials_device").on(t.ownerId, t.deviceId),
    index("device_credentials_family").on(t.familyId, t.state),
    index("device_credentials_token").on(t.sourceTokenId),
  ],
);

/** Pairing codes: started by an executor without auth, approved by the owner, consumed once. */
export const pairings = sqliteTable(
  "pairings",
  {
    id: text("id").primaryKey(),
    /** 8 characters without 0/O/1/I, stored without the dash. */
    code: text("code").notNull(),
    pollSecretHash: text("poll_secret_hash").notNull(),
    deviceId: text("device_id").notNull(),
    name: text("name").notNull(),
    platform: text("platform").notNull(),
    deviceType: text("device_type", { enum: ["local"] }).notNull(),
    /** The executor version it sent (null: an executor from before it was sent). */
    version: text("version"),
    /** The address the pairing was started from (CF-Connecting-IP), shown before approval. */
    requestAddress: text("request_address"),
    /** The approver confirmed replacing their offline device with this id. */
    replaceDevice: integer("replace_device", { mode: "boolean" }).notNull().default(false),
    /** Epoch milliseconds. */
    expiresAt: integer("expires_at").notNull(),
    approvedBy: text("approved_by").references(() => users.id, { onDelete: "cascade" }),
    approvedAt: text("approved_at"),
    consumedAt: text("consumed_at"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("pairings_code_unique").on(t.code)],
);

/** Skills the user uploaded (the zip lives in R2 under `skills/<owner>/<id>.zip`). */
export const skills = sqliteTable(
  "skills",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    createdAt: createdAt(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [uniqueIndex("skills_owner_name").on(t.ownerId, t.name)],
);

/** MCP servers the user defined: `definition` is the validated McpServerDefinition JSON. */
export const mcpServers = sqliteTable(
  "mcp_servers",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    definition: text("definition", { mode: "json" }).notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [uniqueIndex("mcp_servers_owner_name").on(t.ownerId, t.name)],
);

/** Per-user runtime settings (RuntimeSettings JSON), applied to every new message. */
export const runtimeSettings = sqliteTable("runtime_settings", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  settings: text("settings", { mode: "json" }).notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * A task's workspace (issue #13): which device holds it, and its last verified archive in R2
 * (`archives/<owner>/<task>/<nonce>.tar.gz`). No row: the workspace is on the task's device,
 * if the task ever ran.
 */
export const taskWorkspaces = sqliteTable(
  "task_workspaces",
  {
    taskId: text("task_id")
      .primaryKey()
      .references(() => tasks.id, { onDelete: "cascade" }),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    deviceOwnerId: text("device_owner_id"),
    deviceId: text("device_id"),
    onDevice: integer("on_device", { mode: "boolean" }).notNull().default(true),
    archiveKey: text("archive_key"),
    archiveSize: integer("archive_size"),
    archiveSha256: text("archive_sha256"),
    archiveFiles: integer("archive_files"),
    archivedAt: text("archived_at"),
    /** The device the archive was made on. */
    archivedFrom: text("archived_from"),
    /** Why the last archive attempt of a cleanup failed (the workspace was kept), until one works. */
    archiveError: text("archive_error"),
    /**
     * A cleanup kept the workspace on its device as a local snapshot (no upload) and removed the
     * working folder: when. Null once the workspace is back or archived.
     */
    snapshotAt: text("snapshot_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("task_workspaces_owner").on(t.ownerId)],
);

/** A browser's Web Push subscription (per user; the endpoint is on a known push service). */
export const pushSubscriptions = sqliteTable(
  "push_subscriptions",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    endpoint: text("endpoint").notNull(),
    p256dh: text("p256dh").notNull(),
    auth: text("auth").notNull(),
    label: text("label"),
    createdAt: createdAt(),
    /** The last delivery: when, its HTTP status (0: the push service was unreachable). */
    lastSentAt: text("last_sent_at"),
    lastStatus: integer("last_status"),
    /** A 429's Retry-After: no send to this endpoint before then. */
    retryAfter: text("retry_after"),
  },
  (t) => [
    // Per user: one user's subscription never touches another's, even for the same browser.
    uniqueIndex("push_subscriptions_owner_endpoint").on(t.ownerId, t.endpoint),
  ],
);

/** Which events a user wants pushed (no row: all of them). */
export const pushPreferences = sqliteTable("push_preferences", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  needsInput: integer("needs_input", { mode: "boolean" }).notNull(),
  finished: integer("finished", { mode: "boolean" }).notNull(),
  failed: integer("failed", { mode: "boolean" }).notNull(),
  deviceOffline: integer("device_offline", { mode: "boolean" }).notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * One push per (message or request, event): the unique key is the deduplication; the row is
 * the record of each send (endpoint id, status, time).
 */
export const pushSends = sqliteTable(
  "push_sends",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** `<kind>:<messageId or requestId>`: a second event with the same key sends nothing. */
    eventKey: text("event_key").notNull(),
    taskId: text("task_id").notNull(),
    subscriptionId: text("subscription_id").notNull(),
    /** HTTP status of the push service (0: unreachable). */
    status: integer("status").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("push_sends_event").on(t.ownerId, t.eventKey, t.subscriptionId),
    index("push_sends_task").on(t.ownerId, t.taskId),
  ],
);

/** When the user last looked at a task's reply (the inbox hides finished work seen since). */
export const taskSeen = sqliteTable(
  "task_seen",
  {
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    seenAt: text("seen_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.ownerId, t.taskId] })],
);
