// What the device reports of Codex (`runtimes` on the device): its version and how it signs in.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type DeviceRuntime,
  MAX_RUNTIME_MODELS,
  type RuntimeAuth,
  type RuntimeModel,
} from "@wegent/protocol";
import { z } from "zod";
import type { BaseEnv } from "../agent-env";
import { withAppServer } from "./threads";

const ModelList = z.looseObject({
  data: z.array(
    z.looseObject({
      model: z.string().min(1).max(200),
      displayName: z.string().max(200).optional(),
      description: z.string().optional(),
      hidden: z.boolean().optional(),
    }),
  ),
});

/** What Codex offers (`model/list`), once per binary; a failure is tried again next time. */
const modelsOf = new Map<string, Promise<RuntimeModel[]>>();

function models(exe: string, base: BaseEnv): Promise<RuntimeModel[]> {
  const known = modelsOf.get(exe);
  if (known) return known;
  const env = Object.fromEntries(
    Object.entries(base).filter(([name]) => !name.startsWith("WEGENT_")),
  );
  const listed = withAppServer(exe, env, 8_000, async (rpc) => {
    const answer = ModelList.parse(await rpc.request("model/list", {}));
    return answer.data
      .filter((m) => m.hidden !== true)
      .slice(0, MAX_RUNTIME_MODELS)
      .map((m) => ({
        value: m.model,
        displayName: m.displayName ?? m.model,
        description: (m.description ?? "").slice(0, 1000),
      }));
  });
  modelsOf.set(exe, listed);
  listed.catch(() => modelsOf.delete(exe));
  return listed;
}

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
    models: await models(exe, base).catch(() => []),
    commands: [],
    problem: null,
  };
}
