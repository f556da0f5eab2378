// The managed skills and MCP servers from Settings, for one Codex run, without touching the
// owner's CODEX_HOME (its config.toml is never edited, nothing is written into its skills):
//   - each managed MCP server (as this device's policy lets it run: RunCapabilities are already
//     filtered by capabilities/mcp-policy.ts) becomes one `-c mcp_servers.wegent-<name>={…}`
//     override on the `codex app-server` command line;
//   - the managed skills are copied into the task's own HOME, `~/.agents/skills/wegent/`
//     (Codex 0.171 reads `$HOME/.agents/skills`; the agent's HOME is the task's folder).
// Secrets: a command line is readable by every local user (/proc/<pid>/cmdline), so no value
// of a variable ever goes there. A stdio server's variables go into a per-task file (0600, in a
// 0700 folder beside the task's HOME, outside it) that a `/bin/sh` wrapper sources before it
// execs the server: not on any command line, not in Codex's own environment (so not in the
// commands the model runs). An HTTP server's header values must be in Codex's environment
// (`env_http_headers` reads them from there): under neutral names of ours, never the device's
// names (a header variable named HOME would otherwise replace the task's HOME).
import { constants } from "node:fs";
import { cp, lstat, mkdir, open, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RunCapabilities } from "../../capabilities/manager";
import { MCP_PREFIX } from "../../capabilities/mcp-names";
import type { BaseEnv } from "../agent-env";

/** The folder (under the task's `~/.agents/skills`) that holds the managed skills. */
export const MANAGED_SKILLS_FOLDER = "wegent";
/** Prefix of the variables that carry managed HTTP servers' header values to Codex. */
export const HEADER_VARIABLE_PREFIX = "MANAGED_MCP_HEADER_";
const SHELL = "/bin/sh";
/** Sources the server's variables, then becomes the server (no shell stays in between). */
const WRAPPER_SCRIPT = '. "$0" && exec "$@"';

export interface CodexCapabilities {
  /** `-c` overrides for `codex app-server`. */
  args: string[];
  /** Variables for Codex's own environment (header values, under our own names). */
  env: Record<string, string>;
  /** Removes the run's secret files. */
  dispose(): Promise<void>;
}

/** A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too). */
export function tomlString(value: string): string {
  return JSON.stringify(value).replaceAll("\u007f", "\\u007f");
}

function tomlArray(values: readonly string[]): string {
  return `[${values.map(tomlString).join(", ")}]`;
}

function inlineTable(entries: Array<[string, string]>): string {
  return `{ ${entries.map(([key, value]) => `${tomlString(key)} = ${value}`).join(", ")} }`;
}

/** One variable of the device for a definition: present, and never one of the executor's. */
function valueOf(base: BaseEnv, name: string): string | undefined {
  if (name.toUpperCase().startsWith("WEGENT_")) return undefined;
  return base[name];
}

/** A POSIX shell word for `value` (single quotes; a quote inside ends, escapes, reopens). */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The managed skills into `<HOME>/.agents/skills/wegent/` (replaced each run, removed when
 * none is managed). The owner's own skill folders are never written. `.agents` and
 * `.agents/skills` must be real folders: a link there (the agent can write its HOME) is
 * removed, never followed, so nothing is deleted or written elsewhere through it.
 */
export async function placeManagedSkills(homeDir: string, pluginDir: string | null) {
  const skills = join(homeDir, ".agents", "skills");
  for (const dir of [dirname(skills), skills]) {
    const info = await lstat(dir).catch(() => null);
    if (info && !info.isDirectory()) await rm(dir, { force: true });
  }
  const target = join(skills, MANAGED_SKILLS_FOLDER);
  await rm(target, { recursive: true, force: true });
  if (!pluginDir) return;
  // Readable by the agent when it runs as another user (cloud); the task's HOME itself is private.
  await mkdir(skills, { recursive: true, mode: 0o755 });
  await cp(join(pluginDir, "skills"), target, {
    recursive: true,
    errorOnExist: true,
    force: false,
  });
}

async function writePrivate(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * The overrides (and files, and environment) for the run's managed MCP servers and skills.
 * `homeDir` is the task's HOME; the secret files go in a folder beside it.
 */
export async function codexCapabilities(
  caps: RunCapabilities | undefined,
  base: BaseEnv,
  homeDir: string,
  platform: NodeJS.Platform = process.platform,
): Promise<CodexCapabilities> {
  await placeManagedSkills(homeDir, caps?.pluginDir ?? null);
  const args: string[] = [];
  const env: Record<string, string> = {};
  const secretsDir = join(dirname(homeDir), "codex-mcp");
  let wroteSecrets = false;
  const dispose = async (): Promise<void> => {
    if (wroteSecrets) await rm(secretsDir, { recursive: true, force: true });
  };
  let header = 0;
  try {
    for (const server of caps?.mcpServers ?? []) {
      const name = `${MCP_PREFIX}${server.name}`;
      let table: Array<[string, string]>;
      if (server.transport === "stdio") {
        const values = server.env.flatMap((v) => {
          const value = valueOf(base, v);
          return value === undefined ? [] : [[v, value] as const];
        });
        if (values.length === 0) {
          table = [
            ["command", tomlString(server.command)],
            ["args", tomlArray(server.args)],
          ];
        } else if (platform === "win32") {
          // No POSIX shell to source a file: the values go by name through Codex's environment.
          for (const [v, value] of values) env[v] = value;
          table = [
            ["command", tomlString(server.command)],
            ["args", tomlArray(server.args)],
            ["env_vars", tomlArray(values.map(([v]) => v))],
          ];
        } else {
          if (!wroteSecrets) {
            await rm(secretsDir, { recursive: true, force: true });
            await mkdir(secretsDir, { mode: 0o700 });
            wroteSecrets = true;
          }
          const file = join(secretsDir, `${name}.env`);
          await writePrivate(
            file,
            values.map(([v, value]) => `export ${v}=${shellQuote(value)}\n`).join(""),
          );
          table = [
            ["command", tomlString(SHELL)],
            ["args", tomlArray(["-c", WRAPPER_SCRIPT, file, server.command, ...server.args])],
          ];
        }
      } else {
        const headers: Array<[string, string]> = [];
        for (const h of server.headers) {
          const value = valueOf(base, h.env);
          if (value === undefined) continue;
          const variable = `${HEADER_VARIABLE_PREFIX}${header++}`;
          env[variable] = value;
          headers.push([h.name, tomlString(variable)]);
        }
        table = [
          ["url", tomlString(server.url)],
          ...(headers.length > 0
            ? [["env_http_headers", inlineTable(headers)] as [string, string]]
            : []),
        ];
      }
      args.push("-c", `mcp_servers.${name}=${inlineTable(table)}`);
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { args, env, dispose };
}
