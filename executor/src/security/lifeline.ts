// Local mode: every agent starts under the lifeline watcher (watcher-source.ts), so it dies
// with the executor even on `kill -9`, and carries its run marker (leftovers.ts).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { AgentLauncher } from "../runtime/launcher";
import { directLauncher } from "../runtime/launcher";
import { WATCHER_SOURCE } from "./watcher-source";

export function lifelineLauncher(
  nextMarker: () => string,
  nodePath = process.execPath,
): AgentLauncher {
  if (process.platform === "win32") return directLauncher;
  return {
    prepare() {
      const marker = nextMarker();
      return Promise.resolve({
        spawn: (command, args, cwd, spawnEnv) =>
          spawn(nodePath, ["-e", WATCHER_SOURCE, command, ...args], {
            cwd,
            env: { ...spawnEnv, WEGENT_AGENT: marker },
            // fd 3 is the lifeline: the executor holds the only write end and never writes.
            stdio: ["pipe", "pipe", "pipe", "pipe"],
            // Its own process group: a signal to the executor's group does not reach it.
            detached: true,
          }) as ChildProcessWithoutNullStreams,
        dispose: () => Promise.resolve(),
      });
    },
  };
}
