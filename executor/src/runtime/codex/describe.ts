// What the device reports of Codex (`runtimes` on the device): its version and how it signs in.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { DeviceRuntime, RuntimeAuth } from "@wegent/protocol";
import type { BaseEnv } from "../agent-env";

function version(exe: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(exe, ["--version"], { timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve(null);
      const match = /(\d+\.\d+\.\d+\S*)/.exec(stdout);
      resolve(match?.[1] ?? (stdout.trim().slice(0, 100) || null));
    });
  });
}

function auth(base: BaseEnv): RuntimeAuth {
  if ((base.CODEX_API_KEY ?? base.OPENAI_API_KEY ?? "").trim() !== "") {
    return { kind: "api_key", label: "OpenAI API key" };
  }
  const home = base.CODEX_HOME ?? join(base.HOME ?? homedir(), ".codex");
  if (existsSync(join(home, "auth.json"))) return { kind: "login", label: "Codex login" };
  return { kind: "none", label: "Not signed in (run `codex login`)" };
}

export async function describeCodex(exe: string | null, base: BaseEnv): Promise<DeviceRuntime> {
  if (!exe) {
    return {
      id: "codex",
      version: null,
      auth: { kind: "none", label: "Codex not installed" },
      models: [],
      commands: [],
      problem: { code: "runtime_missing", message: "Codex is not installed on this device." },
    };
  }
  return {
    id: "codex",
    version: await version(exe),
    auth: auth(base),
    models: [],
    commands: [],
    problem: null,
  };
}
