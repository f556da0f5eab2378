// Codex in the cloud pool. The operator's OpenAI key stays in the executor, as the Anthropic key
// does (sandbox/model-proxy.ts): each Codex task runs `codex app-server` in its bubblewrap
// sandbox with its own CODEX_HOME (<task HOME>/.codex, seen as /home/agent/.codex) whose one
// provider points at the sandbox's model relay (http://127.0.0.1:<relay port>/v1) and reads its
// key from WEGENT_MODEL_SECRET — the run's per-task secret, which only that run's socket accepts,
// and only for POST /v1/responses. The proxy puts the real key on the way out.
import { lchown, mkdtemp, rm, stat } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DeviceRuntime, PermissionMode } from "@wegent/protocol";
import type { Logger } from "../../log";
import type { AgentLauncher } from "../launcher";
import type { AgentRuntime } from "../types";
import { SANDBOX_HOME, SANDBOX_WORKSPACE } from "../../sandbox/bwrap";
import type { ModelAccess } from "../../sandbox/cloud-launcher";
import type { ModelProxy } from "../../sandbox/model-proxy";
import { RELAY_PORT } from "../../sandbox/relay";
import { describeCodex } from "./describe";
import { type CodexProvider, taskCodexHome } from "./home";
import { createCodexRuntime } from "./runtime";

/** The variable (the provider's `env_key`) that holds the run's secret inside the sandbox. */
export const CODEX_SECRET_VARIABLE = "WEGENT_MODEL_SECRET";

/** The provider every cloud Codex task gets; its key is the run's secret. */
export function cloudCodexProvider(model?: string): CodexProvider {
  return {
    name: "wegent",
    baseUrl: `http://127.0.0.1:${RELAY_PORT}/v1`,
    ...(model ? { model } : {}),
    envKey: CODEX_SECRET_VARIABLE,
    webSearch: "disabled",
  };
}

/** What points a sandboxed Codex at its run's socket: the secret, never the operator's key. */
export function codexModelAccess(proxy: ModelProxy): ModelAccess {
  return { proxy, agentEnv: (secret) => ({ [CODEX_SECRET_VARIABLE]: secret }) };
}

const TRIPLES: Record<string, string> = {
  x64: "x86_64-unknown-linux-musl",
  arm64: "aarch64-unknown-linux-musl",
};

/**
 * The native `codex` binary behind `exe`. npm's `codex` is a Node launcher (bin/codex.js) that
 * finds the binary in the platform package; the sandbox mounts that binary's folder only, so the
 * binary itself is started. Null when it cannot be found.
 */
export function nativeCodex(exe: string): string | null {
  let real: string;
  try {
    real = realpathSync(exe);
  } catch {
    return null;
  }
  if (!real.endsWith(".js")) return real;
  const triple = TRIPLES[process.arch];
  if (process.platform !== "linux" || !triple) return null;
  try {
    const require = createRequire(real);
    const pkg = dirname(require.resolve(`@openai/codex-linux-${process.arch}/package.json`));
    return realpathSync(join(pkg, "vendor", triple, "bin", "codex"));
  } catch {
    return null;
  }
}

/** The folder to mount read-only for a native binary (its vendor/<triple> folder, resources too). */
export function codexInstallDir(native: string): string {
  const bin = dirname(native);
  return bin.endsWith("/bin") ? dirname(bin) : bin;
}

export interface CloudCodexOptions {
  /** The native binary (nativeCodex). */
  executable: string;
  /** The cloud launcher's view for Codex (CloudLauncher.withModel(codexModelAccess(…))). */
  launcher: AgentLauncher;
  /** WEGENT_CLOUD_CODEX_MODEL; none: Codex's default. */
  model?: string;
  permissionMode?: PermissionMode;
  clientVersion?: string;
  log?: Logger;
}

/**
 * The runtime writes the task's CODEX_HOME before the launcher prepares the sandbox; the
 * sandbox's uid (a separate one per task when the executor is root) gets it, as it gets HOME.
 */
function handingCodexHome(launcher: AgentLauncher): AgentLauncher {
  return {
    async prepare(request) {
      const plan = await launcher.prepare(request);
      const { uid, gid } = await stat(request.homeDir);
      const codexHome = join(request.homeDir, ".codex");
      if (uid !== process.getuid?.()) {
        for (const path of [codexHome, join(codexHome, "config.toml")])
          await lchown(path, uid, gid).catch(() => undefined);
      }
      return plan;
    },
  };
}

export function createCloudCodexRuntime(options: CloudCodexOptions): AgentRuntime {
  const provider = cloudCodexProvider(options.model);
  // Nothing of the executor's environment: the launcher adds HOME, TMPDIR and the secret.
  const userEnv = { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: process.env.LANG ?? "C.UTF-8" };
  const runtime = createCodexRuntime({
    executable: options.executable,
    launcher: handingCodexHome(options.launcher),
    provider,
    sandboxed: { workspaceDir: SANDBOX_WORKSPACE, homeDir: SANDBOX_HOME },
    userEnv,
    ...(options.permissionMode ? { permissionMode: options.permissionMode } : {}),
    ...(options.clientVersion ? { clientVersion: options.clientVersion } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    ...runtime,
    // Version and models from the binary with a throw-away CODEX_HOME naming the pool's
    // provider (no key, nothing of the executor's home): `model/list` needs no network.
    async describe(): Promise<DeviceRuntime> {
      const home = await mkdtemp(join(tmpdir(), "wegent-codex-describe-"));
      try {
        const codexHome = await taskCodexHome(home, provider);
        const described = await describeCodex(options.executable, {
          PATH: userEnv.PATH,
          HOME: home,
          CODEX_HOME: codexHome,
        });
        return {
          ...described,
          auth: { kind: "api_key", label: "OpenAI API key of the pool (held outside the sandbox)" },
        };
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    },
  };
}
