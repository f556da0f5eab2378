// Turns the managed capabilities into Claude Agent SDK options for one run.
import type { McpServerConfig, Options } from "@anthropic-ai/claude-agent-sdk";
import type { BaseEnv } from "../runtime/agent-env";
import type { RunCapabilities } from "./manager";

import { MCP_PREFIX } from "./mcp-names";

export { MCP_PREFIX };

function fromEnv(base: BaseEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = base[name];
    if (value !== undefined && !name.toUpperCase().startsWith("WEGENT_")) out[name] = value;
  }
  return out;
}

export function mcpServerConfigs(
  servers: RunCapabilities["mcpServers"],
  base: BaseEnv,
): Record<string, McpServerConfig> {
  const out: Record<string, McpServerConfig> = {};
  for (const server of servers) {
    const name = `${MCP_PREFIX}${server.name}`;
    if (server.transport === "stdio") {
      out[name] = {
        type: "stdio",
        command: server.command,
        args: server.args,
        env: fromEnv(base, server.env),
      };
    } else {
      const headers: Record<string, string> = {};
      for (const h of server.headers) {
        const value = base[h.env];
        if (value !== undefined && !h.env.toUpperCase().startsWith("WEGENT_"))
          headers[h.name] = value;
      }
      out[name] = { type: "http", url: server.url, headers };
    }
  }
  return out;
}

/** Extra variables the user lets the agent see (never WEGENT_*). */
export function agentExtraEnv(caps: RunCapabilities | undefined, base: BaseEnv) {
  return caps ? fromEnv(base, caps.runtime.agentEnv) : {};
}

/**
 * Claude Code's own system prompt, as `claude` in a terminal uses it, with the owner's
 * appended text after it. Recorded in the session on its first request (`snapshot`, the SDK's
 * default made explicit): every follow-up of the task sends the same prompt, and a changed
 * appended text applies to new tasks (and to a task again once Claude Code compacts it).
 */
export function claudeCodePrompt(append = ""): NonNullable<Options["systemPrompt"]> {
  return {
    type: "preset",
    preset: "claude_code",
    ...(append.trim() !== "" ? { append } : {}),
    snapshot: true,
  };
}

/** SDK options for skills (plugin), MCP servers, model, max turns and the appended prompt. */
export function capabilityOptions(
  caps: RunCapabilities | undefined,
  base: BaseEnv,
): Partial<Options> {
  if (!caps) return {};
  const options: Partial<Options> = {};
  if (caps.pluginDir) options.plugins = [{ type: "local", path: caps.pluginDir }];
  if (caps.mcpServers.length > 0) {
    options.mcpServers = mcpServerConfigs(caps.mcpServers, base);
    // Over stdin, not the command line: env values and headers may be secrets, and any user
    // of the machine can read a process's arguments. The bundled Claude Code supports it.
    options.mcpServersDelivery = "initialize";
  }
  const { model, maxTurns, appendSystemPrompt } = caps.runtime;
  if (model) options.model = model;
  if (maxTurns) options.maxTurns = maxTurns;
  options.systemPrompt = claudeCodePrompt(appendSystemPrompt);
  return options;
}
