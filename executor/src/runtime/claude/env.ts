// Claude Code's part of the agent's environment (the shared part is runtime/agent-env.ts).
import { type BaseEnv, baseAgentEnvironment } from "../agent-env";
import type { RunRequest } from "../types";

export type { BaseEnv } from "../agent-env";

const CLAUDE_SETTINGS = {
  /** Model settings of this machine, passed through by exact name. */
  names: [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    // Claude Code refuses bypassPermissions as root unless the machine says it is a sandbox.
    "IS_SANDBOX",
  ],
  /** Passed through by prefix (CLAUDE_CODE_OAUTH_TOKEN, DISABLE_TELEMETRY, ...). */
  prefixes: ["CLAUDE_CODE_", "DISABLE_"],
};

/** Variables that count as Claude Code's model credentials for the preflight check. */
export const CREDENTIAL_VARIABLES = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
];

/**
 * PATH and LANG of this machine, the task's own HOME and TMPDIR, and this machine's Claude
 * model settings; nothing else.
 */
export function agentEnvironment(
  base: BaseEnv,
  request: Pick<RunRequest, "homeDir" | "tmpDir">,
  clientApp: string,
): Record<string, string> {
  const env = baseAgentEnvironment(base, request, CLAUDE_SETTINGS);
  // Names the caller in Claude Code's User-Agent.
  env.CLAUDE_AGENT_SDK_CLIENT_APP = clientApp;
  return env;
}

export function hasCredentials(base: BaseEnv): boolean {
  return CREDENTIAL_VARIABLES.some((name) => (base[name] ?? "").trim() !== "");
}
