// Where Codex keeps its config, auth and threads (CODEX_HOME). Local mode: the owner's own
// (~/.codex, or their CODEX_HOME), as ~/.claude is for Claude. With a model provider given
// (tests, a cloud pool), each task gets its own CODEX_HOME under its HOME with a config.toml
// that names that provider and turns off everything that reaches for the network on start.
import { join } from "node:path";
import { writePinned } from "../../system/pinned-path";

export interface CodexProvider {
  /** `[model_providers.<name>]`. */
  name: string;
  /** The Responses API base URL (ends in /v1). */
  baseUrl: string;
  /** The model; none: Codex's own default (or the one picked for the message). */
  model?: string;
  /** The variable that holds the key (passed to the child by name). */
  envKey?: string;
  /**
   * Codex's `web_search` mode. Unset: Codex's own default ("live" with full access, "cached"
   * otherwise). The cloud pool sets "cached": OpenAI searches its index and never fetches a
   * live page for the agent (the model proxy refuses live search, sandbox/request-policy.ts).
   */
  webSearch?: "cached" | "disabled";
}

/** Features that sync plugins or apps from github.com / chatgpt.com on every start. */
export const NETWORK_FEATURES = [
  "plugins",
  "remote_plugin",
  "apps",
  "plugin_sharing",
  "tool_suggest",
  "unbounded_connection_retries",
] as const;

function toml(value: string): string {
  return JSON.stringify(value);
}

export function providerConfig(provider: CodexProvider): string {
  const lines = [
    ...(provider.model ? [`model = ${toml(provider.model)}`] : []),
    ...(provider.webSearch ? [`web_search = ${toml(provider.webSearch)}`] : []),
    `model_provider = ${toml(provider.name)}`,
    "",
    `[model_providers.${provider.name}]`,
    `name = ${toml(provider.name)}`,
    `base_url = ${toml(provider.baseUrl)}`,
    'wire_api = "responses"',
    ...(provider.envKey ? [`env_key = ${toml(provider.envKey)}`] : []),
    "request_max_retries = 0",
    "stream_max_retries = 0",
    "",
    "[features]",
    ...NETWORK_FEATURES.map((feature) => `${feature} = false`),
    "",
  ];
  return lines.join("\n");
}

/**
 * The task's own CODEX_HOME with the provider's config.toml (0600). Written never through a
 * link: the HOME is the agent's, and a cloud executor writing it is root (a `config.toml` or
 * `.codex` the agent swapped for a link to a host file is replaced, or refused).
 */
export async function taskCodexHome(homeDir: string, provider: CodexProvider): Promise<string> {
  await writePinned(homeDir, ".codex/config.toml", {
    kind: "file",
    bytes: Buffer.from(providerConfig(provider)),
    mode: 0o600,
  });
  return join(homeDir, ".codex");
}

/** `-c` overrides that keep the owner's config.toml as it is (never edited in place). */
export function featureOverrides(): string[] {
  return NETWORK_FEATURES.flatMap((feature) => ["-c", `features.${feature}=false`]);
}
