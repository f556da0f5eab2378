import { z } from "zod";

// What a device found of each agent runtime it runs (today only Claude Code): its version, how
// it signs in to the model, the models it offers and the slash commands the owner can type.
// The executor reports it in device:register (and again in a heartbeat when it changed); the
// hub keeps it on the device row, and `GET /api/devices` returns it as `runtimes`.

/** At most this many models / slash commands are reported per runtime. */
export const MAX_RUNTIME_MODELS = 100;
export const MAX_RUNTIME_COMMANDS = 500;

/** How Claude Code on the device reaches the model, in the order Claude Code resolves it. */
export const RuntimeAuthKind = z.enum([
  /** ANTHROPIC_API_KEY. */
  "api_key",
  /** CLAUDE_CODE_OAUTH_TOKEN (`claude setup-token`). */
  "oauth_token",
  /** `claude login`, kept in <config dir>/.credentials.json. */
  "login",
  /** `claude login` on macOS, kept in the login Keychain ("Claude Code-credentials"). */
  "keychain_login",
  /** An `apiKeyHelper` command in a settings file Claude Code reads. */
  "api_key_helper",
  "bedrock",
  "vertex",
  "foundry",
  /** ANTHROPIC_BASE_URL with a token (ANTHROPIC_AUTH_TOKEN / ANTHROPIC_API_KEY). */
  "gateway",
  /** Nothing found: the agent cannot reach a model. */
  "none",
]);
export type RuntimeAuthKind = z.infer<typeof RuntimeAuthKind>;

export const RuntimeAuth = z.object({
  kind: RuntimeAuthKind,
  /** What the owner reads, e.g. "Claude Code login (Max)", "API key helper". Never a secret. */
  label: z.string().max(200),
});
export type RuntimeAuth = z.infer<typeof RuntimeAuth>;

/** One model the runtime offers (the SDK's `supportedModels()`). */
export const RuntimeModel = z.object({
  value: z.string().min(1).max(200),
  displayName: z.string().max(200),
  description: z.string().max(1000).default(""),
});
export type RuntimeModel = z.infer<typeof RuntimeModel>;

/** One slash command the owner can type (built-in, their own, the project's, a plugin's). */
export const RuntimeCommand = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(1000).default(""),
  /** What to type after the command, as Claude Code hints it (e.g. "<file>"). */
  argumentHint: z.string().max(200).default(""),
});
export type RuntimeCommand = z.infer<typeof RuntimeCommand>;

/** Why the runtime cannot run a message on this device now, with the fix in words. */
export const RuntimeProblem = z.object({
  code: z.string().max(100),
  message: z.string().max(2000),
});
export type RuntimeProblem = z.infer<typeof RuntimeProblem>;

/** The agent runtimes a device may run a task with. */
export const RuntimeId = z.enum(["claude-code", "codex"]);
export type RuntimeId = z.infer<typeof RuntimeId>;

export const DeviceRuntime = z.object({
  id: RuntimeId,
  /** Claude Code's version, or null when it could not be told. */
  version: z.string().max(100).nullable(),
  auth: RuntimeAuth,
  models: z.array(RuntimeModel).max(MAX_RUNTIME_MODELS).default([]),
  commands: z.array(RuntimeCommand).max(MAX_RUNTIME_COMMANDS).default([]),
  /** Null when ready; else the device needs the owner's attention before it can run. */
  problem: RuntimeProblem.nullable().default(null),
});
export type DeviceRuntime = z.infer<typeof DeviceRuntime>;

/** What a device reports, one entry per runtime. */
export const DeviceRuntimes = z.array(DeviceRuntime).max(5);
export type DeviceRuntimes = z.infer<typeof DeviceRuntimes>;

/**
 * What a runtime offers the owner (its models and slash commands), learned by the executor from
 * Claude Code itself on each live session and reported in the claude-code entry of `runtimes`.
 */
export type RuntimeOffers = Pick<DeviceRuntime, "models" | "commands">;
