// `--mode cloud` starts only when the sandbox works: probe bubblewrap, start the model proxy.
import type { BaseEnv } from "../runtime/agent-env";
import { findClaudeExecutable } from "../runtime/registry";
import { findCodexExecutable } from "../runtime/codex/locate";
import { codexInstallDir, codexModelAccess, nativeCodex } from "../runtime/codex/cloud";
import type { AgentLauncher } from "../runtime/launcher";
import type { Logger } from "../log";
import { findBwrap, installDirOf, isRoot, probeSandbox } from "./bwrap";
import { delegatedCgroup, type LimitPlan, limitsFromEnv, planLimits, rlimitArgs } from "./limits";
import { type CloudLauncher, cloudLauncher, removeLeftoverTaskFolders } from "./cloud-launcher";
import { makeSocketRoot, sweepSocketRoots } from "./socket-root";
import {
  type ModelProxy,
  OPENAI_RESPONSES_API,
  openaiCredential,
  startModelProxy,
  type UpstreamCredential,
  upstreamCredential,
} from "./model-proxy";

export const DEFAULT_KEEP_IDLE_SECONDS = 600;

/** A program in an absolute PATH entry (it runs as root inside the sandbox). */
const findOnPath = (name: string, path = ""): string | null =>
  findBwrap(
    path
      .split(":")
      .filter((d) => d.startsWith("/"))
      .join(":"),
    name,
  );

/** Never sent anywhere: without a credential, preflight fails every task first. */
const NO_CREDENTIAL: UpstreamCredential = {
  header: "x-api-key",
  value: "",
  agentVariable: "ANTHROPIC_API_KEY",
};

/** What the pool needs to offer Codex: its binary, its sandboxes, its own model proxy. */
export interface CloudCodex {
  /** The native binary (mounted read-only in each Codex task's sandbox). */
  executable: string;
  launcher: AgentLauncher;
  proxy: ModelProxy;
}

/**
 * Codex in the pool when a `codex` binary is there (--codex PATH, else on PATH) and the operator
 * gave an OpenAI key (OPENAI_API_KEY or CODEX_API_KEY; OPENAI_BASE_URL for another endpoint).
 */
async function setUpCodex(
  baseEnv: BaseEnv,
  codexPath: string | undefined,
  log: Logger,
): Promise<{ executable: string; proxy: ModelProxy } | null> {
  const found = findCodexExecutable(codexPath, baseEnv.PATH);
  const credential = openaiCredential(baseEnv);
  if (!found) return null;
  if (!credential) {
    log.info(
      "codex is installed but the executor has no OPENAI_API_KEY (or CODEX_API_KEY): the pool offers Claude Code only",
    );
    return null;
  }
  const executable = nativeCodex(found);
  if (!executable) {
    log.warn(
      `cannot find the native codex binary behind ${found}: the pool offers Claude Code only`,
    );
    return null;
  }
  const proxy = await startModelProxy({
    upstream: baseEnv.OPENAI_BASE_URL?.trim() || "https://api.openai.com/v1",
    credential,
    api: OPENAI_RESPONSES_API,
    log,
  });
  log.info(
    `codex: offered (${executable}); the OpenAI key stays in the executor, each task reaches POST /v1/responses through its own socket`,
  );
  return { executable, proxy };
}

export async function setUpCloud(options: {
  baseEnv: BaseEnv;
  homeDir: string;
  workspaceRoot: string;
  nextMarker: () => string;
  log: Logger;
  /** --codex PATH / device-config.json; else `codex` on the executor's PATH. */
  codexPath?: string;
}): Promise<
  | { launcher: CloudLauncher; proxy: ModelProxy; limits: LimitPlan; codex: CloudCodex | null }
  | { error: string }
> {
  const { baseEnv, log } = options;
  const bwrap = findBwrap(baseEnv.PATH);
  const limits = planLimits(limitsFromEnv(baseEnv), {
    prlimit: findOnPath("prlimit", baseEnv.PATH),
    perTaskUid: isRoot(),
    cgroup: delegatedCgroup(),
  });
  // The probe runs a sandbox exactly as tasks get it: no network, the /tmp size, the rlimits.
  const problem = probeSandbox(bwrap, {
    tmpBytes: limits.limits.tmpBytes,
    prefix: rlimitArgs(limits, null),
  });
  if (problem !== null) {
    return {
      error: `--mode cloud runs every task in a bubblewrap sandbox without network, and such a sandbox cannot be made here: ${problem}\nInstall the Debian package \`bubblewrap\` (apt-get install bubblewrap) and make sure user and network namespaces (or root) are available, then start again.`,
    };
  }
  // Claude Code refuses bypassPermissions as root unless told it is sandboxed; the agent runs
  // in bubblewrap under its own uid, so it is.
  if (isRoot() && !baseEnv.IS_SANDBOX) baseEnv.IS_SANDBOX = "1";
  const credential = upstreamCredential(baseEnv);
  if (!credential) {
    // As before: the pool device registers, and its tasks fail `credentials_missing` (preflight).
    log.warn(
      "no operator model credential (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN) in the executor's environment: tasks will fail until one is set",
    );
  }
  const removed = await removeLeftoverTaskFolders(options.homeDir, options.workspaceRoot);
  if (removed > 0) log.info(`removed ${removed} task folder(s) left by an earlier run`);
  const swept = sweepSocketRoots();
  if (swept > 0)
    log.info(`removed ${swept} model socket folder(s) left by an executor that stopped`);
  const socketRoot = makeSocketRoot();
  const proxy = await startModelProxy({
    upstream: baseEnv.ANTHROPIC_BASE_URL?.trim() || "https://api.anthropic.com",
    credential: credential ?? NO_CREDENTIAL,
  });
  const claude = findClaudeExecutable();
  const codex = await setUpCodex(baseEnv, options.codexPath, log);
  const keepIdle = Number(baseEnv.WEGENT_CLOUD_KEEP_IDLE_SECONDS ?? DEFAULT_KEEP_IDLE_SECONDS);
  const launcher = cloudLauncher({
    bwrap: bwrap ?? "bwrap",
    proxy,
    credential: credential ?? NO_CREDENTIAL,
    nextMarker: options.nextMarker,
    socketRoot,
    node: process.execPath,
    limits,
    readOnly: [
      ...(claude ? [installDirOf(claude)] : []),
      ...(codex ? [codexInstallDir(codex.executable)] : []),
    ].filter((d): d is string => d !== null),
    keepIdleMs:
      Number.isFinite(keepIdle) && keepIdle >= 0
        ? keepIdle * 1000
        : DEFAULT_KEEP_IDLE_SECONDS * 1000,
    log,
  });
  log.info(
    `sandbox: bubblewrap without network, ${isRoot() ? "a separate free uid per task (70000-71999)" : "the executor's uid (not root)"}; the model through a per-task Unix socket; limits: ${limits.applied.join(", ")}`,
  );
  for (const missing of limits.notApplied) log.warn(`sandbox limit not applied: ${missing}`);
  return {
    launcher,
    proxy,
    limits,
    codex: codex && {
      ...codex,
      launcher: launcher.withModel(codexModelAccess(codex.proxy)),
    },
  };
}
