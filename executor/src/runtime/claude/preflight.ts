// Is Claude Code runnable on this machine? Each failure says how to fix it on this device.
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import type { PermissionMode } from "@anthropic-ai/claude-agent-sdk";
import type { FailureCode } from "@wegent/protocol";
import { CREDENTIAL_VARIABLES, hasCredentials } from "./env";
import type { BaseEnv } from "./env";

const NATIVE_PACKAGE = "@anthropic-ai/claude-agent-sdk";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Claude Code binary the SDK would use: the optional dependency
 * `@anthropic-ai/claude-agent-sdk-<platform>-<arch>[-musl]`, resolved the way the SDK does.
 * Resolving it ourselves lets preflight report a missing binary before a task runs.
 */
export function findClaudeExecutable(configured?: string): string | null {
  if (configured) return isExecutable(configured) ? configured : null;
  const require = createRequire(import.meta.url);
  const platform = process.platform;
  const arch = process.arch;
  const suffix = platform === "win32" ? ".exe" : "";
  const packages =
    platform === "linux"
      ? [`${NATIVE_PACKAGE}-linux-${arch}`, `${NATIVE_PACKAGE}-linux-${arch}-musl`]
      : [`${NATIVE_PACKAGE}-${platform}-${arch}`];
  for (const name of packages) {
    try {
      const path = require.resolve(`${name}/claude${suffix}`);
      if (isExecutable(path)) return path;
    } catch {
      // Not installed for this platform; try the next candidate.
    }
  }
  return null;
}

export function checkClaude(options: {
  baseEnv: BaseEnv;
  /** The caller already checked credentials its own way (local mode accepts a login). */
  credentialsChecked?: boolean;
  permissionMode: PermissionMode;
  executable: string | null;
  configuredExecutable?: string;
  /** This process's user id (tests); default process.getuid(). */
  uid?: number;
}): { code: FailureCode; message: string } | null {
  if (options.executable === null) {
    const where = options.configuredExecutable
      ? `The configured Claude Code binary ${options.configuredExecutable} is missing or not executable.`
      : `Claude Code is not installed for wegent-executor: the package ${NATIVE_PACKAGE}-${process.platform}-${process.arch} (its native binary) is missing.`;
    return {
      code: "runtime_missing",
      message: `${where} Reinstall wegent-executor on this device with optional dependencies (npm install -g wegent-executor, without --omit=optional), then start it again.`,
    };
  }
  if (!options.credentialsChecked && !hasCredentials(options.baseEnv)) {
    return {
      code: "credentials_missing",
      message: `No model credentials on this device: none of ${CREDENTIAL_VARIABLES.join(", ")} is set. Run \`export ANTHROPIC_API_KEY=sk-ant-…\` (or ANTHROPIC_AUTH_TOKEN, or CLAUDE_CODE_OAUTH_TOKEN from \`claude setup-token\`) in the shell, then start wegent-executor again.`,
    };
  }
  const root = rootRefusal(options.baseEnv, options.permissionMode, options.uid);
  if (root) return { code: "agent_error", message: root };
  return null;
}

/**
 * Claude Code refuses `bypassPermissions` as root unless the machine says it is a sandbox:
 * `IS_SANDBOX` exactly "1", or Claude Code's own bubblewrap marker (its check, read from its
 * binary: `getuid() === 0 && IS_SANDBOX !== "1" && !CLAUDE_CODE_BUBBLEWRAP`). Returns the fix
 * in words, or null when Claude Code will run.
 */
export function rootRefusal(
  env: BaseEnv,
  permissionMode: PermissionMode,
  uid: number | undefined = typeof process.getuid === "function" ? process.getuid() : undefined,
): string | null {
  if (uid !== 0 || permissionMode !== "bypassPermissions") return null;
  if (env.IS_SANDBOX === "1" || (env.CLAUDE_CODE_BUBBLEWRAP ?? "") !== "") return null;
  const found =
    env.IS_SANDBOX === undefined
      ? ""
      : ` IS_SANDBOX is set to ${JSON.stringify(env.IS_SANDBOX.slice(0, 20))}, but Claude Code accepts only IS_SANDBOX=1.`;
  return `wegent-executor runs as root, and Claude Code refuses to skip permission checks as root.${found} Start wegent-executor as a normal user, or, only if this machine is a disposable sandbox or container, \`export IS_SANDBOX=1\` before starting it.`;
}
