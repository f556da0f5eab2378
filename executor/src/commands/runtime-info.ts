// runtime.info: versions of the executor, Node, git and Claude Code, and free disk.
import { statfs } from "node:fs/promises";
import type { RuntimeInfo } from "@wegent/protocol";
import { findClaudeExecutable } from "../runtime/registry";
import { gitEnv } from "../system/git";
import { gitPath } from "../system/git-bin";
import { runArgv } from "../system/spawn";

async function versionOf(argv: string[]): Promise<string | null> {
  const result = await runArgv({
    argv,
    cwd: process.cwd(),
    env: gitEnv(),
    timeoutMs: 10_000,
    maxOutputBytes: 4096,
  });
  if (result.exitCode !== 0) return null;
  return result.stdout.trim().split("\n")[0]?.slice(0, 200) ?? null;
}

export async function runtimeInfo(options: {
  version: string;
  workspaceRoot: string;
  claudeExecutable?: string;
}): Promise<RuntimeInfo> {
  const claude = options.claudeExecutable ?? findClaudeExecutable();
  const [git, claudeCode, disk] = await Promise.all([
    versionOf([gitPath(), "--version"]),
    claude ? versionOf([claude, "--version"]) : Promise.resolve(null),
    statfs(options.workspaceRoot).catch(() => null),
  ]);
  return {
    executor: options.version,
    node: process.version,
    git,
    claudeCode,
    platform: `${process.platform}-${process.arch}`,
    freeDiskBytes: disk ? disk.bavail * disk.bsize : null,
  };
}
