// The built CLI as a user runs it: `node executor/dist/cli.js ...`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeHub } from "./fake-hub";

const EXECUTOR_DIR = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(EXECUTOR_DIR, "dist", "cli.js");
const VERSION = (
  JSON.parse(readFileSync(join(EXECUTOR_DIR, "package.json"), "utf8")) as { version: string }
).version;
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-part-of-the-token.sig9Zq";

let home: string;
beforeAll(() => {
  const build = spawnSync(process.execPath, [join(EXECUTOR_DIR, "build.mjs")], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(build.status, build.stderr).toBe(0);
  home = mkdtempSync(join(tmpdir(), "wegent-cli-"));
}, 40_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, WEGENT_EXECUTOR_HOME: home };
  return env;
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    timeout: 10_000,
    env: cleanEnv(),
  });
}

/** Starts the CLI against a fake hub; resolves its exit code and output. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  void exited.then(() => clearTimeout(timer));
  return { child, exited, output: () => output };
}

describe("wegent-executor CLI", () => {
  it("prints help and version", () => {
    const help = runCli(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: wegent-executor --mode local \[--token/);
    expect(help.stdout).toMatch(/--max-slots/);
    const version = runCli(["--version"]);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(`wegent-executor ${VERSION}`);
  });

  it("exits 2 with a clear message on bad flags and values", () => {
    const unknown = runCli(["--token", TOKEN, "--colour"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'/);
    const slots = runCli(["--token", TOKEN, "--max-slots", "7"]);
    expect(slots.status).toBe(2);
    expect(slots.stderr).toMatch(/max slots must be at most 5/);
    const noToken = runCli(["--mode", "cloud"]);
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toMatch(/no token/);
  });

  it("registers, then stops cleanly on SIGINT (exit 0, close 1000), never printing the token", async () => {
    const hub = await FakeHub.start();
    try {
      const cli = startCli([
        "--mode",
        "local",
        "--token",
        TOKEN,
        "--backend-url",
        hub.url,
        "--name",
        "CLI box",
      ]);
      await hub.until(() => hub.framesOf("device:register").length === 1, "register", 8000);
      expect(hub.framesOf("device:register")[0]).toMatchObject({
        name: "CLI box",
        executorVersion: VERSION,
        deviceType: "local",
      });
      await hub.until(() => cli.output().includes("registered"), "registered log line", 3000);
      cli.child.kill("SIGINT");
      expect(await cli.exited).toBe(0);
      await hub.until(() => hub.closes.some((c) => c.code === 1000), "close 1000");
      expect(cli.output()).toContain("eyJh…9Zq");
      expect(cli.output()).not.toContain("secret-part-of-the-token");
    } finally {
      await hub.stop();
    }
  });

  it("exits 1 with the reason when the device was removed (close 4004)", async () => {
    const hub = await FakeHub.start();
    try {
      const cli = startCli(["--token", TOKEN, "--backend-url", hub.url]);
      await hub.until(() => hub.framesOf("device:register").length === 1, "register", 8000);
      await hub.until(() => cli.output().includes("registered"), "registered log line", 3000);
      hub.closeCurrent(4004, "device removed");
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toMatch(/removed in the web UI; start wegent-executor again/);
    } finally {
      await hub.stop();
    }
  });
});
