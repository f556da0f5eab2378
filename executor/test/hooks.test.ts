import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PreExecuteHook, runPreExecuteHook } from "../src/hooks";
import { isAlive } from "../src/system/process-tree";

const workspace = () => mkdtempSync(join(tmpdir(), "wegent-hook-"));
const hook = (script: string, timeoutSec = 10) =>
  PreExecuteHook.parse({ argv: [process.execPath, "-e", script], timeoutSec });
const context = (dir: string) => ({ taskId: "t-1", workspaceDir: dir, project: null });

describe("pre-execute hook", () => {
  it("runs without a shell, stdin closed, with the task's variables and no executor secrets", async () => {
    const dir = workspace();
    const script = `
      const fs = require("fs");
      let stdin = "open";
      try { stdin = fs.readFileSync(0, "utf8") === "" ? "closed" : "data"; } catch { stdin = "closed"; }
      fs.writeFileSync("seen.json", JSON.stringify({
        task: process.env.WEGENT_TASK_ID, ws: process.env.WEGENT_WORKSPACE,
        project: process.env.WEGENT_PROJECT, token: process.env.WEGENT_TOKEN ?? null,
        cwd: process.cwd(), stdin, arg: process.argv[1] }));`;
    const result = await runPreExecuteHook(
      PreExecuteHook.parse({ argv: [process.execPath, "-e", script, "$(echo injected)"] }),
      context(dir),
      undefined,
      { ...process.env, WEGENT_TOKEN: "secret-token" },
    );
    expect(result).toEqual({ ok: true });
    const seen = JSON.parse(readFileSync(join(dir, "seen.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(seen).toMatchObject({
      task: "t-1",
      ws: dir,
      project: "",
      token: null,
      stdin: "closed",
      // No shell: the argument arrives exactly as written.
      arg: "$(echo injected)",
    });
  });

  it("fails with the last lines of stderr on a non-zero exit", async () => {
    const script = `for (let i = 1; i <= 30; i++) console.error("line " + i); console.error("policy: no secrets allowed"); process.exit(1);`;
    const result = await runPreExecuteHook(hook(script), context(workspace()));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain("exited with 1");
    expect(result.message).toContain("policy: no secrets allowed");
    expect(result.message).toContain("line 30");
    expect(result.message).not.toContain("line 5\n");
  });

  it("kills a hook that runs past its timeout, with what it started", async () => {
    const dir = workspace();
    const script = `
      const { spawn } = require("child_process");
      const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      require("fs").writeFileSync("child.pid", String(child.pid));
      console.error("waiting for the network");
      setInterval(() => {}, 1000);`;
    const started = Date.now();
    const result = await runPreExecuteHook(hook(script, 1), context(dir));
    const took = Date.now() - started;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain("timeout");
    expect(result.message).toContain("waiting for the network");
    expect(took).toBeLessThan(4000);
    const childPid = Number(readFileSync(join(dir, "child.pid"), "utf8"));
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(childPid) && !isZombie(childPid)).toBe(false);
  });

  it("says so when the program does not exist", async () => {
    const result = await runPreExecuteHook(
      PreExecuteHook.parse({ argv: ["/nonexistent/hook"] }),
      context(workspace()),
    );
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.message).toContain("could not start");
  });

  it("refuses an empty argv in the config", () => {
    expect(PreExecuteHook.safeParse({ argv: [] }).success).toBe(false);
  });
});

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}
