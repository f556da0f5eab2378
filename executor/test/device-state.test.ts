import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { claimHome } from "../src/identity";
import { processStartTime, startRun } from "../src/security/leftovers";

// Two executors on one machine with the same home and different --device-id (issue #13's
// proof): each keeps its state apart, so a restart of one never sweeps the other's agents.

const children: { kill(): boolean }[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

function configFor(home: string, argv: string[]) {
  const result = loadConfig({
    argv: ["--token", "t", ...argv],
    env: { WEGENT_EXECUTOR_HOME: home },
    readFile: () => null,
  });
  if (result.kind !== "run") throw new Error(JSON.stringify(result));
  return result.config;
}

describe("a second device id on the same home", () => {
  it("gets its own state folder; the home's own id (or a fresh home) keeps the home", () => {
    const home = mkdtempSync(join(tmpdir(), "wegent-home-"));
    // A fresh home: the first id claims it.
    expect(configFor(home, ["--device-id", "first-device-1"]).homeDir).toBe(home);
    claimHome(home, "first-device-1", "local");
    claimHome(home, "other-device-2", "local");
    expect(readFileSync(join(home, "device_id"), "utf8").trim()).toBe("first-device-1");
    const first = configFor(home, ["--device-id", "first-device-1"]);
    const second = configFor(home, ["--device-id", "other-device-2"]);
    const plain = configFor(home, []);
    expect(first.homeDir).toBe(home);
    expect(plain.homeDir).toBe(home);
    expect(second.homeDir).toBe(join(home, "devices", "other-device-2"));
    expect(second.workspaceRoot).toBe(join(home, "devices", "other-device-2", "workspaces"));
    expect(second.configDir).toBe(home);
    expect(first.workspaceRoot).toBe(join(home, "workspaces"));
    // An explicit --workspace is kept as given.
    expect(
      configFor(home, ["--device-id", "other-device-2", "--workspace", "/w"]).workspaceRoot,
    ).toBe("/w");
  });

  it("a restart of one executor never sweeps the agents of the other", async () => {
    const home = mkdtempSync(join(tmpdir(), "wegent-home-"));
    claimHome(home, "first-device-1", "local");
    const a = configFor(home, []).homeDir;
    const b = configFor(home, ["--device-id", "other-device-2"]).homeDir;
    mkdirSync(b, { recursive: true });
    // B runs (its record names a live process) with an agent carrying B's marker.
    const runB = await startRun(b);
    const agentB = spawn("sleep", ["30"], {
      env: { ...process.env, WEGENT_AGENT: runB.nextMarker() },
    });
    children.push(agentB);
    // A ran before, died, and left an agent of its own.
    const runA = await startRun(a);
    const agentA = spawn("sleep", ["30"], {
      env: { ...process.env, WEGENT_AGENT: runA.nextMarker() },
    });
    children.push(agentA);
    await new Promise((r) => setTimeout(r, 100));
    const dead = spawn("true");
    await new Promise((r) => dead.once("exit", r));
    const record = JSON.parse(readFileSync(join(a, "executor-run.json"), "utf8")) as {
      run: string;
    };
    writeFileSync(
      join(a, "executor-run.json"),
      JSON.stringify({ run: record.run, pid: dead.pid, startTime: "1" }),
    );
    // A restarts: its own leftover dies, B's agent lives on.
    const restarted = await startRun(a);
    expect(restarted.swept).toBe(1);
    expect(processStartTime(agentA.pid!)).toBeNull();
    expect(processStartTime(agentB.pid!)).not.toBeNull();
  });
});
