// Which model credentials a local agent has: an API key variable, or the owner's existing
// Claude Code login (`claude login`, stored in <config dir>/.credentials.json).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CREDENTIAL_VARIABLES } from "../runtime/claude-env";
import type { Env } from "./environment";

export type CredentialSource =
  | { kind: "api_key"; variable: string }
  | { kind: "login"; file: string; subscription: string | null };

const LoginFile = z.object({
  claudeAiOauth: z.object({
    accessToken: z.string().min(1),
    refreshToken: z.string().optional(),
    expiresAt: z.number().optional(),
    subscriptionType: z.string().nullable().optional(),
  }),
});

/** Claude Code's config folder for this environment (CLAUDE_CONFIG_DIR, else ~/.claude). */
export function claudeConfigDir(env: Env): string {
  const configured = env.CLAUDE_CONFIG_DIR?.trim();
  return configured ? configured : join(env.HOME ?? "", ".claude");
}

/** The first credential found, API key variables first (Claude Code prefers them too). */
export function findCredentials(env: Env): CredentialSource | null {
  for (const variable of CREDENTIAL_VARIABLES) {
    if ((env[variable] ?? "").trim() !== "") return { kind: "api_key", variable };
  }
  const file = join(claudeConfigDir(env), ".credentials.json");
  try {
    const parsed = LoginFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (parsed.success) {
      return {
        kind: "login",
        file,
        subscription: parsed.data.claudeAiOauth.subscriptionType ?? null,
      };
    }
  } catch {
    // No login file (or not readable / not JSON): no login.
  }
  return null;
}

export function describeCredentials(source: CredentialSource): string {
  return source.kind === "api_key"
    ? `API key (${source.variable})`
    : `Claude Code login (${source.file}${source.subscription ? `, ${source.subscription}` : ""})`;
}

export const LOCAL_CREDENTIALS_MISSING = `No model credentials on this device: no API key variable (${CREDENTIAL_VARIABLES.join(", ")}) is set and there is no Claude Code login. Either run \`claude login\` (or \`claude\` and then /login) as this user, or \`export ANTHROPIC_API_KEY=sk-ant-…\` in your shell profile; then start wegent-executor again.`;
