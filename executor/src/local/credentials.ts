// How Claude Code on this machine reaches the model, found the way Claude Code resolves it
// (https://code.claude.com/docs/en/iam, "Authentication precedence"):
//   1. a cloud provider: CLAUDE_CODE_USE_BEDROCK / _VERTEX / _FOUNDRY;
//   2. ANTHROPIC_AUTH_TOKEN (a gateway's bearer token);
//   3. ANTHROPIC_API_KEY;
//   4. an `apiKeyHelper` in a settings file Claude Code reads;
//   5. CLAUDE_CODE_OAUTH_TOKEN (`claude setup-token`);
//   6. the `claude login` subscription login: <config dir>/.credentials.json, or on macOS the
//      login Keychain item "Claude Code-credentials".
// Variables count from the environment and from the `env` of those settings files (Claude
// Code applies both). Nothing here reads a secret: a key's presence, a helper's presence, the
// Keychain item's presence (`security find-generic-password` without -w/-g prints no secret)
// and the login file's subscription name are all it looks at.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeAuth, RuntimeAuthKind } from "@wegent/protocol";
import { z } from "zod";
/** An environment as read (process.env or the captured login shell's). */
type Env = Readonly<Record<string, string | undefined>>;

export interface CredentialSource {
  kind: Exclude<RuntimeAuthKind, "none">;
  /** What the owner reads: "Claude Code login (Max)", "API key helper", … (never a secret). */
  label: string;
  /** Where it was found (a variable or a file), for the log. */
  where: string;
}

/** Where to look besides the environment; every field has the machine's default. */
export interface CredentialProbe {
  /** The project folder: its `.claude/settings.json` and `settings.local.json` count too. */
  projectDir?: string;
  platform?: NodeJS.Platform;
  /** macOS `security` command (tests inject a script); default `/usr/bin/security`. */
  securityCommand?: string;
  /** Claude Code's managed settings files; default: the platform's own locations. */
  managedSettings?: string[];
}

const LoginFile = z.object({
  claudeAiOauth: z.object({
    accessToken: z.string().min(1),
    subscriptionType: z.string().nullable().optional(),
  }),
});

const SettingsFile = z
  .object({
    apiKeyHelper: z.string().optional(),
    env: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

/** Keychain item Claude Code keeps its macOS login in. */
export const KEYCHAIN_SERVICE = "Claude Code-credentials";
const KEYCHAIN_TIMEOUT_MS = 3000;

/** Claude Code's config folder for this environment (CLAUDE_CONFIG_DIR, else ~/.claude). */
export function claudeConfigDir(env: Env): string {
  const configured = env.CLAUDE_CONFIG_DIR?.trim();
  return configured ? configured : join(env.HOME ?? "", ".claude");
}

/** Claude Code's managed settings files (set by an administrator) on this platform. */
export function managedSettingsFiles(platform: NodeJS.Platform): string[] {
  if (platform === "darwin") {
    return ["/Library/Application Support/ClaudeCode/managed-settings.json"];
  }
  if (platform === "win32") {
    return [
      "C:\\Program Files\\ClaudeCode\\managed-settings.json",
      "C:\\ProgramData\\ClaudeCode\\managed-settings.json",
    ];
  }
  return ["/etc/claude-code/managed-settings.json"];
}

/** Every settings file Claude Code reads here, lowest precedence first. */
export function settingsFiles(env: Env, probe: CredentialProbe = {}): string[] {
  const files = [join(claudeConfigDir(env), "settings.json")];
  if (probe.projectDir) {
    files.push(
      join(probe.projectDir, ".claude", "settings.json"),
      join(probe.projectDir, ".claude", "settings.local.json"),
    );
  }
  files.push(
    ...(probe.managedSettings ?? managedSettingsFiles(probe.platform ?? process.platform)),
  );
  return files;
}

interface SettingsFound {
  helper: string | null;
  /** Variables set by the files' `env` (later files win, as in Claude Code). */
  env: Record<string, string>;
}

function readSettings(files: string[]): SettingsFound {
  const found: SettingsFound = { helper: null, env: {} };
  for (const file of files) {
    let parsed;
    try {
      parsed = SettingsFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
    } catch {
      continue; // Missing, unreadable or not JSON: Claude Code skips it too.
    }
    if (!parsed.success) continue;
    if (parsed.data.apiKeyHelper?.trim()) found.helper = file;
    for (const [name, value] of Object.entries(parsed.data.env ?? {})) {
      if (typeof value === "string") found.env[name] = value;
    }
  }
  return found;
}

const isSet = (value: string | undefined) => (value ?? "").trim() !== "";
/** Claude Code's reading of a boolean variable ("1", "true", "yes", "on"). */
const isTruthy = (value: string | undefined) =>
  ["1", "true", "yes", "on"].includes((value ?? "").trim().toLowerCase());

/** Is the macOS login in the Keychain? Asks `security` for the item's presence only. */
export function keychainHasLogin(securityCommand = "/usr/bin/security"): boolean {
  try {
    const result = spawnSync(securityCommand, ["find-generic-password", "-s", KEYCHAIN_SERVICE], {
      stdio: "ignore",
      timeout: KEYCHAIN_TIMEOUT_MS,
    });
    return result.status === 0;
  } catch {
    return false;
  }
}

function subscriptionLabel(subscription: string | null | undefined): string {
  if (!subscription) return "Claude Code login";
  const name = subscription.charAt(0).toUpperCase() + subscription.slice(1);
  return `Claude Code login (${name})`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 100);
  }
}

/** The credential Claude Code would use here, or null when it has none. */
export function findCredentials(env: Env, probe: CredentialProbe = {}): CredentialSource | null {
  const settings = readSettings(settingsFiles(env, probe));
  // Settings files' env applies over the process environment, as Claude Code does.
  const all: Record<string, string | undefined> = { ...env, ...settings.env };
  const from = (name: string) => (name in settings.env ? `settings env ${name}` : name);

  if (isTruthy(all.CLAUDE_CODE_USE_BEDROCK)) {
    const region = all.AWS_REGION ?? all.AWS_DEFAULT_REGION;
    return {
      kind: "bedrock",
      label: `Amazon Bedrock${region ? ` (${region})` : ""}`,
      where: from("CLAUDE_CODE_USE_BEDROCK"),
    };
  }
  if (isTruthy(all.CLAUDE_CODE_USE_VERTEX)) {
    const region = all.CLOUD_ML_REGION;
    return {
      kind: "vertex",
      label: `Google Vertex AI${region ? ` (${region})` : ""}`,
      where: from("CLAUDE_CODE_USE_VERTEX"),
    };
  }
  if (isTruthy(all.CLAUDE_CODE_USE_FOUNDRY)) {
    return { kind: "foundry", label: "Microsoft Foundry", where: from("CLAUDE_CODE_USE_FOUNDRY") };
  }
  const gateway = isSet(all.ANTHROPIC_BASE_URL) ? hostOf(all.ANTHROPIC_BASE_URL!.trim()) : null;
  if (isSet(all.ANTHROPIC_AUTH_TOKEN)) {
    return gateway
      ? { kind: "gateway", label: `Gateway ${gateway}`, where: from("ANTHROPIC_AUTH_TOKEN") }
      : { kind: "api_key", label: "Auth token", where: from("ANTHROPIC_AUTH_TOKEN") };
  }
  if (isSet(all.ANTHROPIC_API_KEY)) {
    return gateway
      ? { kind: "gateway", label: `Gateway ${gateway} (API key)`, where: from("ANTHROPIC_API_KEY") }
      : { kind: "api_key", label: "API key", where: from("ANTHROPIC_API_KEY") };
  }
  if (settings.helper) {
    return { kind: "api_key_helper", label: "API key helper", where: settings.helper };
  }
  if (isSet(all.CLAUDE_CODE_OAUTH_TOKEN)) {
    return {
      kind: "oauth_token",
      label: "Claude Code token (setup-token)",
      where: from("CLAUDE_CODE_OAUTH_TOKEN"),
    };
  }
  const file = join(claudeConfigDir(env), ".credentials.json");
  try {
    const parsed = LoginFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (parsed.success) {
      return {
        kind: "login",
        label: subscriptionLabel(parsed.data.claudeAiOauth.subscriptionType),
        where: file,
      };
    }
  } catch {
    // No login file (or not readable / not JSON): no login there.
  }
  if (
    (probe.platform ?? process.platform) === "darwin" &&
    keychainHasLogin(probe.securityCommand)
  ) {
    return {
      kind: "keychain_login",
      label: "Claude Code login (macOS Keychain)",
      where: `Keychain "${KEYCHAIN_SERVICE}"`,
    };
  }
  return null;
}

/** What the device reports: the source found, or `none`. */
export function authOf(source: CredentialSource | null): RuntimeAuth {
  return source
    ? { kind: source.kind, label: source.label }
    : { kind: "none", label: "No model credentials" };
}

export function describeCredentials(source: CredentialSource): string {
  return `${source.label} (${source.where})`;
}

export const LOCAL_CREDENTIALS_MISSING =
  "No model credentials on this device: Claude Code has no login here (`claude login`, kept in ~/.claude/.credentials.json or the macOS Keychain), no ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN / CLAUDE_CODE_OAUTH_TOKEN, no `apiKeyHelper` in its settings, and no Bedrock / Vertex / Foundry setting. Run `claude` and then /login as this user (or `export ANTHROPIC_API_KEY=sk-ant-…` in your shell profile); then start wegent-executor again.";

/**
 * Cloud mode: the agent is sealed off the machine's files and gets only its model variables
 * (see runtime/claude/env.ts), so only those count.
 */
export function cloudCredentials(env: Env): CredentialSource | null {
  return findCredentials(
    { ...env, HOME: "/nonexistent", CLAUDE_CONFIG_DIR: "/nonexistent" },
    { managedSettings: [], platform: "linux" },
  );
}

/** The fix when the model refused the credentials (401/403), by how they were found. */
export function credentialsInvalidMessage(
  auth: RuntimeAuth,
  detail: string,
  local: boolean,
): string {
  const restart = local ? "restart wegent-executor" : "restart the executor";
  const fix: Record<RuntimeAuthKind, string> = {
    api_key: `Put a valid key in ANTHROPIC_API_KEY (console.anthropic.com), then ${restart}`,
    oauth_token: `Make a new token with \`claude setup-token\`, export CLAUDE_CODE_OAUTH_TOKEN, then ${restart}`,
    login: "Sign in again as this user (run `claude`, then /login), then send the message again",
    keychain_login:
      "Sign in again as this user (run `claude`, then /login), then send the message again",
    api_key_helper:
      "Check that your apiKeyHelper command prints a valid key, then send the message again",
    bedrock: `Check the AWS credentials and region Claude Code uses for Bedrock, then ${restart}`,
    vertex: `Check the Google Cloud credentials and project for Vertex AI, then ${restart}`,
    foundry: `Check your Microsoft Foundry credentials, then ${restart}`,
    gateway: `Check the token your gateway (ANTHROPIC_BASE_URL) expects, then ${restart}`,
    none: "Sign in as this user (run `claude`, then /login), then send the message again",
  };
  const said = detail.trim() ? ` Claude Code said: ${detail.trim().slice(0, 500)}` : "";
  return `The model refused this device's credentials (${auth.label}).${said} ${fix[auth.kind]}.`;
}
