// How the agent's process is started. The runtime asks the launcher to prepare each run: the
// environment the agent gets and the spawn that starts it (directly, under a lifeline watcher
// in local mode, or inside a bubblewrap sandbox in cloud mode; see security/ and sandbox/).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { RunRequest } from "./types";

export interface LaunchPlan {
  /**
   * Starts the agent. `env` is the agent's environment as the SDK passes it on (built by
   * runtime/claude/env.ts); the launcher may add to it (a run marker) or replace parts (cloud mode).
   */
  spawn(
    command: string,
    args: string[],
    cwd: string | undefined,
    env: Record<string, string | undefined>,
  ): ChildProcessWithoutNullStreams;
  /** Called once the run and its processes are gone. */
  dispose(): Promise<void>;
  /** Why the launcher stopped the agent itself (e.g. over a sandbox limit), or null. */
  stopReason?(): string | null;
}

export interface AgentLauncher {
  prepare(request: RunRequest): Promise<LaunchPlan>;
}

/** Starts the agent as a plain child in its own process group (tests, and Windows). */
export const directLauncher: AgentLauncher = {
  prepare: () =>
    Promise.resolve({
      spawn: (command, args, cwd, spawnEnv) =>
        spawn(command, args, {
          cwd,
          env: spawnEnv,
          stdio: ["pipe", "pipe", "pipe"],
          detached: process.platform !== "win32",
        }),
      dispose: () => Promise.resolve(),
    }),
};
