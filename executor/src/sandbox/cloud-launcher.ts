// Cloud mode: each run in its own bubblewrap sandbox (bwrap.ts) without network, with a per-run
// model socket (model-proxy.ts) served inside by a relay (relay.ts) instead of the operator's
// key, per-task limits (limits.ts, disk-watchdog.ts), and the task's folders removed when it ends.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { commandStateDir, perTaskRoots } from "../workspace/places";
import type { Logger } from "../log";
import type { AgentLauncher, LaunchPlan } from "../runtime/launcher";
import type { RunRequest } from "../runtime/types";
import {
  SANDBOX_HOME,
  bwrapArgs,
  chownForSandbox,
  installDirOf,
  sandboxIdentity,
  writeIdentityFiles,
} from "./bwrap";
import { overCapMessage, watchDisk } from "./disk-watchdog";
import { inCgroup, type LimitPlan, removeTaskCgroup, rlimitArgs, taskCgroup } from "./limits";
import type { ModelProxy, UpstreamCredential } from "./model-proxy";
import { MODEL_SOCKET_NAME, relayBaseUrl, relayed } from "./relay";

/** Names that end like a credential's never reach a cloud agent (MAX_THINKING_TOKENS does). */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIALS?)$/i;
const DUMMY = "sk-wegent-sandbox-no-key-here";

/**
 * How a run reaches its model: the proxy that issues its socket, and the variables that point
 * the agent at it (a dummy or the run's own secret, never the operator's key).
 */
export interface ModelAccess {
  proxy: ModelProxy;
  agentEnv(secret: string): Record<string, string>;
}

/** Claude Code: the secret in ANTHROPIC_BASE_URL, a dummy in the credential's variable. */
export function claudeModelAccess(proxy: ModelProxy, credential: UpstreamCredential): ModelAccess {
  return {
    proxy,
    agentEnv: (secret) => ({
      ANTHROPIC_BASE_URL: relayBaseUrl(secret),
      [credential.agentVariable]: DUMMY,
    }),
  };
}

export interface CloudLauncherOptions {
  /** The bwrap binary the probe found. */
  bwrap: string;
  /** Claude Code's model proxy and the operator's credential it holds. */
  proxy: ModelProxy;
  credential: UpstreamCredential;
  nextMarker: () => string;
  /** Read-only folders the agent needs (the Claude Code install). */
  readOnly: string[];
  /** A folder (mode 0700, short path) for the per-task model socket folders. */
  socketRoot: string;
  /** The Node binary that runs the in-sandbox model relay. */
  node: string;
  limits: LimitPlan;
  /** How long an idle task's folders are kept for a follow-up message; 0 = remove at once. */
  keepIdleMs: number;
  log: Logger;
}

export interface CloudLauncher extends AgentLauncher {
  /**
   * The same sandboxes (folders, uids, limits shared with this launcher) for another runtime,
   * its runs reaching their model through `model` (Codex: runtime/codex/cloud.ts).
   */
  withModel(model: ModelAccess): AgentLauncher;
  /** Removes every task folder now (executor stopping). */
  removeAll(): Promise<void>;
}

/** Endpoints the agent must never choose itself (its model is the run's socket). */
const MODEL_ENDPOINTS = new Set(["ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"]);

/** The agent's environment in the sandbox: no credential, the per-run model endpoint. */
export function cloudAgentEnv(
  agentEnv: Record<string, string | undefined>,
  modelEnv: Record<string, string>,
  marker: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(agentEnv)) {
    if (value !== undefined && !SECRET_NAME.test(name) && !MODEL_ENDPOINTS.has(name)) {
      env[name] = value;
    }
  }
  Object.assign(env, modelEnv);
  env.HOME = SANDBOX_HOME;
  env.TMPDIR = "/tmp";
  env.USER = "agent";
  env.WEGENT_AGENT = marker;
  return env;
}

export function cloudLauncher(options: CloudLauncherOptions): CloudLauncher {
  const claude = claudeModelAccess(options.proxy, options.credential);
  const timers = new Map<string, NodeJS.Timeout>();
  const removing = new Map<string, Promise<void>>();
  const folders = new Map<string, string[]>();
  const identities = new Map<string, ReturnType<typeof sandboxIdentity>>();

  const remove = (taskId: string): Promise<void> => {
    timers.delete(taskId);
    const dirs = folders.get(taskId) ?? [];
    folders.delete(taskId);
    identities.delete(taskId);
    const done = Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
      .then(() => options.log.debug("task folders removed", { taskId }))
      .catch((error: unknown) =>
        options.log.warn("could not remove a task's folders", { taskId, error: String(error) }),
      )
      .finally(() => removing.delete(taskId));
    removing.set(taskId, done);
    return done;
  };

  const prepare = async (request: RunRequest, model: ModelAccess): Promise<LaunchPlan> => {
    const pending = timers.get(request.taskId);
    if (pending) clearTimeout(pending);
    timers.delete(request.taskId);
    await removing.get(request.taskId);
    const taskRoot = dirname(request.homeDir);
    const etcDir = join(taskRoot, "etc");
    // The Changes tab's state (<home>/command-state/<task>) goes with the task's folders.
    const stateDir = commandStateDir(dirname(dirname(taskRoot)), request.taskId);
    folders.set(request.taskId, [request.workspaceDir, taskRoot, stateDir]);
    await Promise.all(
      [request.workspaceDir, request.homeDir].map((d) =>
        mkdir(d, { recursive: true, mode: 0o700 }),
      ),
    );
    // A task keeps its uid while its folders exist (its files are owned by it).
    const held = new Set([...identities.values()].map((other) => other.uid));
    const id = identities.get(request.taskId) ?? sandboxIdentity(request.taskId, held);
    identities.set(request.taskId, id);
    writeIdentityFiles(etcDir, id);
    chownForSandbox([request.workspaceDir, request.homeDir], id);
    // This run's model socket, in a folder only this task's sandbox mounts (under a short
    // root: a socket path has at most 107 bytes).
    const runDir = join(options.socketRoot, request.taskId);
    await mkdir(runDir, { recursive: true, mode: 0o755 });
    const { secret } = await model.proxy.issue(
      join(runDir, MODEL_SOCKET_NAME),
      id.dropPrivileges ? id : undefined,
    );
    const marker = options.nextMarker();
    const { limits } = options.limits;
    let cgroup: string | null = null;
    let stopReason: string | null = null;
    let watchdog: { stop(): void } | null = null;
    return {
      spawn(command, args, _cwd, spawnEnv) {
        const readOnly = [...options.readOnly];
        for (const install of [installDirOf(command), installDirOf(options.node)])
          if (install && !readOnly.includes(install)) readOnly.push(install);
        const mounts = {
          workspaceDir: request.workspaceDir,
          homeDir: request.homeDir,
          etcDir,
          readOnly,
          runDir,
        };
        // What the SDK passes (the agent's env and its own variables), minus credentials.
        const clean = cloudAgentEnv(spawnEnv, model.agentEnv(secret), marker);
        cgroup = taskCgroup(options.limits, request.taskId);
        const argv = inCgroup(cgroup, [
          options.bwrap,
          ...bwrapArgs(mounts, id, {
            tmpBytes: limits.tmpBytes,
            prefix: rlimitArgs(options.limits, cgroup),
          }),
          ...relayed(options.node, command, args),
        ]);
        const proc = spawn(argv[0] ?? options.bwrap, argv.slice(1), {
          cwd: request.workspaceDir,
          env: clean,
          stdio: ["pipe", "pipe", "pipe"],
          detached: true,
        }) as ChildProcessWithoutNullStreams;
        watchdog = watchDisk({
          dirs: [request.workspaceDir, request.homeDir],
          capBytes: limits.workspaceBytes,
          onOver(bytes) {
            stopReason = overCapMessage(bytes, limits.workspaceBytes);
            options.log.warn("a cloud task passed its workspace limit: stopped", {
              taskId: request.taskId,
              bytes,
            });
            try {
              if (proc.pid !== undefined) process.kill(-proc.pid, "SIGKILL");
            } catch {
              // already gone
            }
          },
        });
        proc.once("exit", () => watchdog?.stop());
        return proc;
      },
      stopReason: () => stopReason,
      dispose() {
        watchdog?.stop();
        model.proxy.revoke(secret);
        removeTaskCgroup(cgroup);
        void rm(runDir, { recursive: true, force: true });
        if (options.keepIdleMs <= 0) return remove(request.taskId);
        const timer = setTimeout(() => void remove(request.taskId), options.keepIdleMs);
        timer.unref();
        timers.set(request.taskId, timer);
        return Promise.resolve();
      },
    };
  };

  return {
    prepare: (request) => prepare(request, claude),
    withModel: (model) => ({ prepare: (request) => prepare(request, model) }),
    async removeAll() {
      for (const timer of timers.values()) clearTimeout(timer);
      await Promise.all([...folders.keys()].map((taskId) => remove(taskId)));
      await Promise.all(removing.values());
      await rm(options.socketRoot, { recursive: true, force: true });
    },
  };
}

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** At start: task folders left by an earlier run (it crashed or was killed) are removed. */
export async function removeLeftoverTaskFolders(
  homeDir: string,
  workspaceRoot: string,
): Promise<number> {
  let removed = 0;
  for (const root of perTaskRoots({ homeDir, workspaceRoot })) {
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch {
      continue;
    }
    for (const entry of entries.filter((e) => TASK_ID.test(e))) {
      await rm(join(root, entry), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
