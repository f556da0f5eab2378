import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DeviceId, DeviceType, MAX_SLOTS } from "@wegent/protocol";
import { LOG_LEVELS } from "./log";
import { PreExecuteHook } from "./hooks";
import { ManagedMcpConfig, NO_MANAGED_MCP_CONFIG } from "./capabilities/mcp-policy";

export const DEFAULT_BACKEND_URL = "http://127.0.0.1:8787";
export const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

/**
 * Claude Code permission modes a headless agent can use. `bypassPermissions` (the default) lets
 * the agent edit files and run commands in its workspace without asking — there is nobody at
 * the device to answer; `acceptEdits` allows edits but refuses commands that would need
 * approval; `default` and `plan` refuse anything that needs approval. See docs/executor.md.
 */
export const PERMISSION_MODES = ["bypassPermissions", "acceptEdits", "default", "plan"] as const;

/** Everything the executor needs to start, after flags, env, file and defaults are merged. */
export const ExecutorConfig = z.object({
  mode: DeviceType,
  /** null: use the stored device credential, or pair (local mode). */
  token: z.string().min(1, "the token is empty").nullable(),
  backendUrl: z
    .string()
    .url("the backend URL is not a valid URL")
    .refine(
      (value) => /^(https?|wss?):\/\//i.test(value),
      "the backend URL must start with http(s):// or ws(s)://",
    ),
  /** Device name shown in the web UI; null = "<OS> - <hostname>". */
  name: z
    .string()
    .trim()
    .min(1, "the name is empty")
    .max(200, "the name is longer than 200 characters")
    .nullable(),
  maxSlots: z.coerce
    .number({ message: "max slots must be a number" })
    .int("max slots must be a whole number")
    .min(1, "max slots must be at least 1")
    .max(MAX_SLOTS, `max slots must be at most ${MAX_SLOTS}`),
  /** Root of the per-task workspace folders. */
  workspaceRoot: z.string().min(1),
  /**
   * This device's state folder: device id, credential, run record, per-task HOME and TMPDIR.
   * The executor home, or `<home>/devices/<id>` for a second device id on the same home.
   */
  homeDir: z.string().min(1),
  /** The executor home (device-config.json). */
  configDir: z.string().min(1),
  logLevel: z.enum(LOG_LEVELS, { message: `log level must be one of ${LOG_LEVELS.join(", ")}` }),
  jsonLogs: z.boolean(),
  permissionMode: z.enum(PERMISSION_MODES, {
    message: `permission mode must be one of ${PERMISSION_MODES.join(", ")}`,
  }),
  stopTimeoutSeconds: z.coerce
    .number({ message: "stop timeout must be a number of seconds" })
    .min(0, "stop timeout must not be negative")
    .max(3600, "stop timeout must be at most 3600 seconds"),
  /** Local mode: directories offered as projects (absolute). */
  projects: z.array(z.string().min(1)).max(100, "at most 100 --project directories"),
  /** Local mode: git repositories up to two levels below are offered as projects. */
  projectsRoot: z.string().min(1).nullable(),
  /** Overrides the hardware-derived device id (containers, a second executor). */
  deviceId: DeviceId.nullable(),
  /** Runs before each message (device-config.json only); null = none. */
  preExecuteHook: PreExecuteHook.nullable(),
  /**
   * What managed MCP servers (the platform's Settings) may do here (device-config.json only):
   * stdio servers on a device that asks, and the environment variables they may read.
   */
  managedMcp: ManagedMcpConfig,
  /** The `codex` binary to run Codex tasks with; null: `codex` on the (login) PATH. */
  codexPath: z.string().min(1).nullable().default(null),
});
export type ExecutorConfig = z.infer<typeof ExecutorConfig>;

/** The optional config file, `<home>/device-config.json`. Unknown keys are ignored. */
const ConfigFile = z.object({
  mode: z.string().optional(),
  token: z.string().optional(),
  backendUrl: z.string().optional(),
  name: z.string().optional(),
  maxSlots: z.number().optional(),
  workspace: z.string().optional(),
  logLevel: z.string().optional(),
  jsonLogs: z.boolean().optional(),
  stopTimeout: z.number().optional(),
  permissionMode: z.string().optional(),
  projects: z.array(z.string()).optional(),
  projectsRoot: z.string().optional(),
  deviceId: z.string().optional(),
  preExecuteHook: PreExecuteHook.optional(),
  managedMcp: ManagedMcpConfig.optional(),
  codex: z.string().optional(),
});

export const HELP_TEXT = `Usage: wegent-executor --mode local [--token <token>] [options]

Runs AI coding agents (Claude Code, Codex) on this machine for Wegent Edge.

Options:
  --mode <local|cloud>     local: your own machine; cloud: an operator-run pool executor (default local)
  --token <token>          device token (or env WEGENT_TOKEN, or device-config.json); without
                           one, local mode prints a pairing code to approve in the web UI
  --backend-url <url>      Wegent Edge URL (or env WEGENT_BACKEND_URL; default ${DEFAULT_BACKEND_URL})
  --name <name>            device name shown in the web UI (default "<OS> - <hostname>")
  --max-slots <n>          tasks run at the same time, 1-${MAX_SLOTS} (default ${MAX_SLOTS})
  --workspace <dir>        folder for the tasks' workspaces (default <home>/workspaces)
  --log-level <level>      ${LOG_LEVELS.join(" | ")} (default info)
  --json-logs              one JSON object per log line
  --permission-mode <m>    ${PERMISSION_MODES.join(" | ")} (default bypassPermissions)
  --stop-timeout <sec>     on Ctrl-C, how long running tasks may finish (default ${DEFAULT_STOP_TIMEOUT_SECONDS})
  --project <dir>          local: offer this directory as a project (repeatable)
  --projects-root <dir>    local: offer every git repository up to two levels below <dir>
  --device-id <id>         use this device id instead of the machine's (or env WEGENT_DEVICE_ID)
  --codex <path>           the codex binary for Codex tasks (default: codex on your PATH; cloud:
                           offered with OPENAI_API_KEY, the key held outside the sandbox)
  --help                   show this help
  --version                show the version

Settings are read from flags, then environment, then <home>/device-config.json.
<home> is ~/.wegent-executor (or env WEGENT_EXECUTOR_HOME).
`;

export type ConfigResult =
  | { kind: "run"; config: ExecutorConfig }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

export interface ConfigSources {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home folder (os.homedir() by default). */
  userHome?: string;
  /** Reads the config file; returns null when it does not exist. */
  readFile?: (path: string) => string | null;
  /** Reads the home's stored device id file; returns null when it does not exist. */
  readDeviceIdFile?: (path: string) => string | null;
}

/**
 * Where a device keeps its state (credential, run record, workspaces, worktrees, task homes).
 * A second executor on the same home with its own `--device-id` (or WEGENT_DEVICE_ID) — an id
 * other than the one the home already belongs to — gets `<home>/devices/<id>`: its own
 * credential, its own run record (so neither one's start sweeps the other's agents), its own
 * workspaces. device-config.json stays shared in `<home>`.
 */
export function deviceStateHome(
  home: string,
  explicitId: string | null,
  mode: string,
  readDeviceIdFile: (path: string) => string | null,
): string {
  if (explicitId === null || !DeviceId.safeParse(explicitId).success) return home;
  const stored = readDeviceIdFile(join(home, deviceIdFile(mode)))?.trim() ?? null;
  return stored && stored !== explicitId ? join(home, "devices", explicitId) : home;
}

export const deviceIdFile = (mode: string) => (mode === "cloud" ? "device_id.cloud" : "device_id");

/** The home every executor of this user gets without WEGENT_EXECUTOR_HOME. */
export function standardExecutorHome(userHome: string = homedir()): string {
  return join(userHome, ".wegent-executor");
}

export function executorHome(env: ConfigSources["env"], userHome: string): string {
  const override = env.WEGENT_EXECUTOR_HOME;
  return override ? resolve(override) : join(userHome, ".wegent-executor");
}

/** Merges flags > env > file > defaults and validates the result. Never throws. */
export function loadConfig(sources: ConfigSources): ConfigResult {
  let flags;
  try {
    flags = parseArgs({
      args: [...sources.argv],
      strict: true,
      allowPositionals: false,
      options: {
        mode: { type: "string" },
        token: { type: "string" },
        "backend-url": { type: "string" },
        name: { type: "string" },
        "max-slots": { type: "string" },
        workspace: { type: "string" },
        "log-level": { type: "string" },
        "json-logs": { type: "boolean" },
        "stop-timeout": { type: "string" },
        "permission-mode": { type: "string" },
        project: { type: "string", multiple: true },
        "projects-root": { type: "string" },
        "device-id": { type: "string" },
        codex: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: "error", message: `${message}\nRun wegent-executor --help to see the options.` };
  }
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };

  const home = executorHome(sources.env, sources.userHome ?? homedir());
  const filePath = join(home, "device-config.json");
  const read = sources.readFile ?? readIfExists;
  let file: z.infer<typeof ConfigFile> = {};
  let raw: string | null;
  try {
    raw = read(filePath);
  } catch (error) {
    return { kind: "error", message: `cannot read ${filePath}: ${errorMessage(error)}` };
  }
  if (raw !== null) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return { kind: "error", message: `${filePath} is not valid JSON` };
    }
    const parsed = ConfigFile.safeParse(json);
    if (!parsed.success)
      return { kind: "error", message: `${filePath}: ${describeIssue(parsed.error)}` };
    file = parsed.data;
  }

  const env = sources.env;
  const token = flags.token ?? nonEmpty(env.WEGENT_TOKEN) ?? file.token ?? null;
  // Local mode without a token pairs (or uses the stored credential); see cli.ts.
  if (token === null && (flags.mode ?? file.mode) === "cloud") {
    return {
      kind: "error",
      message:
        "no token: --mode cloud needs an operator token: pass --token <token>, set WEGENT_TOKEN, or put it in device-config.json",
    };
  }
  const workspace = flags.workspace ?? file.workspace;
  const projectsRoot = flags["projects-root"] ?? file.projectsRoot;
  const mode = flags.mode ?? file.mode ?? "local";
  const projects = (flags.project ?? file.projects ?? []).map((dir) => resolve(dir));
  if (mode === "cloud" && (projects.length > 0 || projectsRoot !== undefined)) {
    return {
      kind: "error",
      message: "projects are for --mode local: a cloud executor runs tasks in sealed workspaces",
    };
  }
  const explicitId = flags["device-id"] ?? nonEmpty(env.WEGENT_DEVICE_ID) ?? null;
  const stateHome = deviceStateHome(
    home,
    explicitId,
    mode,
    sources.readDeviceIdFile ?? readIfExists,
  );
  const candidate = {
    mode,
    token,
    backendUrl:
      flags["backend-url"] ??
      nonEmpty(env.WEGENT_BACKEND_URL) ??
      file.backendUrl ??
      DEFAULT_BACKEND_URL,
    name: flags.name ?? file.name ?? null,
    maxSlots: flags["max-slots"] ?? file.maxSlots ?? MAX_SLOTS,
    workspaceRoot: workspace !== undefined ? resolve(workspace) : join(stateHome, "workspaces"),
    homeDir: stateHome,
    configDir: home,
    logLevel: flags["log-level"] ?? file.logLevel ?? "info",
    jsonLogs: flags["json-logs"] ?? file.jsonLogs ?? false,
    stopTimeoutSeconds: flags["stop-timeout"] ?? file.stopTimeout ?? DEFAULT_STOP_TIMEOUT_SECONDS,
    permissionMode: flags["permission-mode"] ?? file.permissionMode ?? "bypassPermissions",
    projects,
    projectsRoot: projectsRoot !== undefined ? resolve(projectsRoot) : null,
    deviceId: flags["device-id"] ?? nonEmpty(env.WEGENT_DEVICE_ID) ?? file.deviceId ?? null,
    preExecuteHook: file.preExecuteHook ?? null,
    managedMcp: file.managedMcp ?? NO_MANAGED_MCP_CONFIG,
    codexPath: flags.codex !== undefined ? resolve(flags.codex) : (file.codex ?? null),
  };
  const parsed = ExecutorConfig.safeParse(candidate);
  if (!parsed.success) return { kind: "error", message: describeIssue(parsed.error) };
  return { kind: "run", config: parsed.data };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid configuration";
  const field = issue.path.join(".");
  if (field === "mode") return `mode must be "local" or "cloud"`;
  if (field === "deviceId")
    return "device id: 8-128 letters, digits, '-' or '_' (--device-id / WEGENT_DEVICE_ID)";
  return issue.message.startsWith("Invalid") && field
    ? `${field}: ${issue.message}`
    : issue.message;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
