// The agent gets an explicit environment, built from scratch: it runs code the model chose,
// so it must never see the device token (WEGENT_TOKEN) or anything else of the executor's.
// This is the part every runtime shares; each runtime adds its own model settings by name
// (runtime/claude/env.ts, runtime/codex/env.ts).
import type { RunRequest } from "./types";

export type BaseEnv = Record<string, string | undefined>;

/**
 * Variables that hold a model credential of any runtime: never passed to an owner command
 * (commands/runner.ts), and each runtime passes on only its own.
 */
export const CREDENTIAL_VARIABLES = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "OPENAI_API_KEY",
  "CODEX_API_KEY",
] as const;

/** What a runtime passes through of this machine's environment. */
export interface ModelSettings {
  /** Exact names. */
  names: readonly string[];
  /** Name prefixes. */
  prefixes: readonly string[];
}

function isModelSetting(name: string, settings: ModelSettings): boolean {
  if (name.startsWith("WEGENT_")) return false;
  return settings.names.includes(name) || settings.prefixes.some((p) => name.startsWith(p));
}

/**
 * PATH and LANG of this machine, the task's own HOME and TMPDIR, and this machine's model
 * settings the runtime names; nothing else.
 */
export function baseAgentEnvironment(
  base: BaseEnv,
  request: Pick<RunRequest, "homeDir" | "tmpDir">,
  settings: ModelSettings,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && isModelSetting(name, settings)) env[name] = value;
  }
  env.PATH = base.PATH ?? "/usr/local/bin:/usr/bin:/bin";
  if (base.LANG !== undefined) env.LANG = base.LANG;
  env.HOME = request.homeDir;
  env.TMPDIR = request.tmpDir;
  return env;
}
