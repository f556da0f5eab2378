// Which runtimes a device offers: Claude Code always, Codex only where a `codex` binary is.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { codexRuntimeIfInstalled, RuntimeRegistry } from "../src/runtime/registry";
import { ScriptedRuntime } from "./scripted-runtime";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("runtime registry", () => {
  it("offers Codex only when a codex binary is on the PATH or named", async () => {
    const empty = mkdtempSync(join(tmpdir(), "wegent-nocodex-"));
    dirs.push(empty);
    expect(codexRuntimeIfInstalled({ userEnv: { PATH: empty } })).toEqual([]);
    const bin = mkdtempSync(join(tmpdir(), "wegent-codex-bin-"));
    dirs.push(bin);
    writeFileSync(join(bin, "codex"), "#!/bin/sh\necho codex-cli 9.9.9\n");
    chmodSync(join(bin, "codex"), 0o755);
    const found = codexRuntimeIfInstalled({ userEnv: { PATH: `${empty}:${bin}` } });
    expect(found.map((r) => r.name)).toEqual(["codex"]);
    expect(await found[0]?.preflight()).toBeNull();
    expect(await found[0]?.describe?.()).toMatchObject({ id: "codex", version: "9.9.9" });
    // A named binary that is not there: offered, and its preflight says what is wrong.
    const named = codexRuntimeIfInstalled({ executable: join(empty, "codex") });
    expect(await named[0]?.preflight()).toMatchObject({ code: "runtime_missing" });
  });

  it("reports ready runtimes and refuses the same id twice", async () => {
    const codex = new ScriptedRuntime("codex");
    codex.preflightProblem = { code: "runtime_missing", message: "no codex" };
    const registry = new RuntimeRegistry([new ScriptedRuntime("claude-code"), codex]);
    const problems = await registry.preflightAll();
    expect(problems).toEqual([{ id: "codex", code: "runtime_missing", message: "no codex" }]);
    expect(registry.readyIds()).toEqual(["claude-code"]);
    expect(registry.get("codex")).toBe(codex);
    expect(
      () => new RuntimeRegistry([new ScriptedRuntime("codex"), new ScriptedRuntime("codex")]),
    ).toThrow(/twice/);
  });
});
