// What the device reports of Claude Code (`runtimes` on the device): its version, how it signs
// in to the model, and whether it can run now (else the problem, with the fix in words).
import { spawn } from "node:child_process";
import type { DeviceRuntime, RuntimeAuth } from "@wegent/protocol";

const VERSION_TIMEOUT_MS = 10_000;
const versions = new Map<string, Promise<string | null>>();

/** `claude --version` ("2.1.330 (Claude Code)" → "2.1.330"), once per binary. */
export function claudeVersion(executable: string): Promise<string | null> {
  let found = versions.get(executable);
  if (!found) {
    found = new Promise((resolve) => {
      let out = "";
      let child;
      try {
        child = spawn(executable, ["--version"], {
          stdio: ["ignore", "pipe", "ignore"],
          timeout: VERSION_TIMEOUT_MS,
          // Nothing of ours: the version needs no environment but PATH.
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        });
      } catch {
        resolve(null);
        return;
      }
      child.stdout.on("data", (chunk: Buffer) => {
        if (out.length < 1000) out += chunk.toString("utf8");
      });
      child.on("error", () => resolve(null));
      child.on("close", (code) => {
        const first = out.trim().split("\n")[0] ?? "";
        resolve(code === 0 && first ? (first.split(" ")[0] ?? first).slice(0, 100) : null);
      });
    });
    versions.set(executable, found);
  }
  return found;
}

export async function describeClaude(options: {
  executable: string | null;
  auth: RuntimeAuth;
  problem: { code: string; message: string } | null;
}): Promise<DeviceRuntime> {
  return {
    id: "claude-code",
    version: options.executable ? await claudeVersion(options.executable) : null,
    auth: options.auth,
    models: [],
    commands: [],
    problem: options.problem
      ? { code: options.problem.code, message: options.problem.message.slice(0, 2000) }
      : null,
  };
}
