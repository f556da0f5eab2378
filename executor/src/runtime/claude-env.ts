// The agent gets an explicit environment, built from scratch: it runs code the model chose,
// so it must never see the device token (WEGENT_TOKEN) or anything else of the executor's.
import type { RunRequest } from "./types";

export type BaseEnv = Record<string, string | undefined>;

/** Model settings of this machine, passed through by exact name. */
const MODEL_SETTINGS = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_MODEL",
  // Claude Code refuses bypassPermissions as root unless the machine says it is a sandbox.
  "IS_SANDBOX",
];

/** Model settings passed through by prefix (CLAUDE_CODE_OAUTH_TOKEN, DISABLE_TELEMETRY, ...). */
const MODEL_SETTING_PREFIXES = ["CLAUDE_CODE_", "DISABLE_"];

/** Variables that count as model credentials for the preflight check. */
export const CREDENTIAL_VARIABLES = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
];

function isModelSetting(name: string): boolean {
  if (name.startsWith("WEGENT_")) return false;
  return MODEL_SETTINGS.includes(name) || MODEL_SETTING_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * PATH and LANG of this machine, the task's own HOME and TMPDIR, and this machine's model
 * settings; nothing else.
 */
export function agentEnvironment(
  base: BaseEnv,
  request: Pick<RunRequest, "homeDir" | "tmpDir">,
  clientApp: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && isModelSetting(name)) env[name] = value;
  }
  env.PATH = base.PATH ?? "/usr/local/bin:/usr/bin:/bin";
  if (base.LANG !== undefined) env.LANG = base.LANG;
  env.HOME = request.homeDir;
  env.TMPDIR = request.tmpDir;
  // Names the caller in Claude Code's User-Agent.
  env.CLAUDE_AGENT_SDK_CLIENT_APP = clientApp;
  return env;
}

export function hasCredentials(base: BaseEnv): boolean {
  return CREDENTIAL_VARIABLES.some((name) => (base[name] ?? "").trim() !== "");
}
