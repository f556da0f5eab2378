// What a task's live session was started with (a message asking for something else needs a
// new process), and what Claude Code offers the owner: its models and slash commands, asked of
// Claude Code itself on every session it starts (`supportedModels()` / `supportedCommands()`;
// no model call, answered from its start-up), so the list includes the owner's
// `~/.claude/commands`, the project's `.claude/commands`, skills and plugins as Claude Code
// resolves them.
import type { PermissionMode, Query } from "@anthropic-ai/claude-agent-sdk";
import { MAX_RUNTIME_COMMANDS, MAX_RUNTIME_MODELS, type RuntimeOffers } from "@wegent/protocol";
import type { Logger } from "../../log";
import type { RunRequest } from "../types";

/** Everything fixed when Claude Code starts that a message may ask to be different. */
export function sessionKey(
  request: RunRequest,
  mode: PermissionMode,
  deviceModel: string | undefined,
): string {
  const caps = request.capabilities;
  return JSON.stringify({
    mode,
    model: request.model ?? deviceModel ?? null,
    cwd: request.workspaceDir,
    ask: request.ask !== undefined,
    plugin: caps?.pluginDir ?? null,
    mcp: caps?.mcpServers ?? [],
    runtime: caps ? { ...caps.runtime, keepWarmSeconds: undefined } : null,
  });
}

const cut = (text: string | undefined, max: number) => (text ?? "").slice(0, max);

/** Asks a live session for its models and commands; reports them (bounded), never throws. */
export async function learnOffers(
  q: Pick<Query, "supportedModels" | "supportedCommands">,
  report: (offers: RuntimeOffers) => void,
  log?: Logger,
): Promise<void> {
  try {
    const [models, commands] = await Promise.all([q.supportedModels(), q.supportedCommands()]);
    report({
      models: models.slice(0, MAX_RUNTIME_MODELS).map((m) => ({
        value: cut(m.value, 200),
        displayName: cut(m.displayName, 200),
        description: cut(m.description, 1000),
      })),
      commands: commands.slice(0, MAX_RUNTIME_COMMANDS).map((c) => ({
        name: cut(c.name, 200),
        description: cut(c.description, 1000),
        argumentHint: cut(c.argumentHint, 200),
      })),
    });
  } catch (error) {
    log?.debug("could not learn what Claude Code offers", { error: String(error) });
  }
}
