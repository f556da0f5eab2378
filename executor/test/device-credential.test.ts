// The built CLI's device credential, pairing and secret hygiene, against a fake hub that also
// answers POST /api/devices/credential and the pairing endpoints the way CONTRACT.md says.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FakeHub } from "./fake-hub";

const EXECUTOR_DIR = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(EXECUTOR_DIR, "dist", "cli.js");
const TOKEN = "wdt_device-token-0123456789abcdefghij";
const homes: string[] = [];
const hubs: FakeHub[] = [];

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(EXECUTOR_DIR, "build.mjs")], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(build.status, build.stderr).toBe(0);
}, 40_000);

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.stop();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), "wegent-cred-"));
  homes.push(home);
  return join(home, "exec");
}

async function newHub(): Promise<FakeHub> {
  const hub = await FakeHub.start();
  hubs.push(hub);
  return hub;
}

function startCli(home: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", WEGENT_EXECUTOR_HOME: home, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  void exited.then(() => clearTimeout(timer));
  return { child, exited, output: () => output };
}

function json(response: ServerResponse, status: number, body: unknown): true {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
  return true;
}

/** The platform's exchange: every presented bearer gets the next `wdc_<n>`. */
function exchange(hub: FakeHub, seen: string[], refuse?: { status: number; code: string }) {
  let n = 0;
  hub.http = (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "POST" || request.url !== "/api/devices/credential") return false;
    seen.push(request.headers.authorization ?? "");
    if (refuse)
      return json(response, refuse.status, { error: { code: refuse.code, message: "refused" } });
    n += 1;
    return json(response, 200, {
      credential: `wdc_${n}`,
      deviceId: request.headers["x-device-id"],
      deviceType: "local",
    });
  };
}

const stored = (home: string) =>
  (JSON.parse(readFileSync(join(home, "credential.json"), "utf8")) as { credential: string })
    .credential;

describe("device credential", () => {
  it("exchanges the token, stores the credential 0600 in a 0700 home, rotates at every connect, and hides the token from /proc", async () => {
    const hub = await newHub();
    const seen: string[] = [];
    exchange(hub, seen);
    const home = newHome();
    const cli = startCli(home, ["--token", TOKEN, "--backend-url", hub.url], {
      WEGENT_TOKEN: TOKEN,
    });
    await hub.until(() => hub.framesOf("device:register").length === 1, "register", 10_000);
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
    expect(hub.upgrades[0]?.headers.authorization).toBe("Bearer wdc_1");
    expect(stored(home)).toBe("wdc_1");
    expect(statSync(join(home, "credential.json")).mode & 0o777).toBe(0o600);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    // What any process of this user could read about the executor: no token.
    const pid = cli.child.pid ?? 0;
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toContain(TOKEN);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(TOKEN);
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).toContain("WEGENT_TOKEN=****");

    hub.current?.terminate();
    await hub.until(() => hub.framesOf("device:register").length === 2, "register again", 10_000);
    expect(seen).toEqual([`Bearer ${TOKEN}`, "Bearer wdc_1"]);
    expect(hub.upgrades[1]?.headers.authorization).toBe("Bearer wdc_2");
    expect(stored(home)).toBe("wdc_2");
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
    expect(cli.output()).not.toContain(TOKEN);

    // A restart without any token uses (and rotates) the stored credential.
    const again = startCli(home, ["--backend-url", hub.url]);
    await hub.until(
      () => hub.framesOf("device:register").length === 3,
      "register after restart",
      10_000,
    );
    expect(seen.at(-1)).toBe("Bearer wdc_2");
    expect(hub.upgrades.at(-1)?.headers.authorization).toBe("Bearer wdc_3");
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
    // Two starts and a reconnect whose first redial may wait the 1006 spread (up to 2 s).
  }, 20_000);

  it("stops and says to pair again when the credential was reused, and forgets it", async () => {
    const hub = await newHub();
    exchange(hub, [], { status: 401, code: "credential_reused" });
    const home = newHome();
    const deviceId = "d".repeat(32);
    startCli(home, ["--help"]);
    spawnSync("mkdir", ["-p", "-m", "700", home]);
    writeFileSync(join(home, "device_id"), `${deviceId}\n`);
    writeFileSync(
      join(home, "credential.json"),
      JSON.stringify({ deviceId, backendUrl: hub.url, credential: "wdc_old" }),
      { mode: 0o600 },
    );
    const cli = startCli(home, ["--backend-url", hub.url]);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/credential reuse detected/);
    expect(cli.output()).toMatch(/Pair this device again/);
    expect(existsSync(join(home, "credential.json"))).toBe(false);
    expect(hub.upgrades).toHaveLength(0);
  });

  it("connects with the token itself when the platform has no exchange (404)", async () => {
    const hub = await newHub();
    const home = newHome();
    const cli = startCli(home, ["--token", TOKEN, "--backend-url", hub.url]);
    await hub.until(() => hub.framesOf("device:register").length === 1, "register", 10_000);
    expect(hub.upgrades[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(cli.output()).toMatch(/does not issue device credentials yet/);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });
});

describe("pairing", () => {
  function pairing(hub: FakeHub, poll: () => [number, unknown], seen: string[]) {
    const rotate: string[] = [];
    exchange(hub, rotate);
    const rotateHandler = hub.http;
    hub.http = (request, response) => {
      if (request.method === "POST" && request.url === "/api/pairings/start") {
        return json(response, 201, {
          pairingId: "pair_1",
          code: "ABCD-EFGH",
          pollSecret: "poll_secret_123456",
          expiresAt: new Date(Date.now() + 600_000).toISOString(),
          approveUrl: `${hub.url}/devices?pair=ABCD-EFGH`,
        });
      }
      if (request.method === "GET" && request.url === "/api/pairings/pair_1") {
        seen.push(request.headers.authorization ?? "");
        const [status, body] = poll();
        return json(response, status, body);
      }
      return rotateHandler?.(request, response) ?? false;
    };
    return rotate;
  }

  it("prints the code and the approve URL, polls, stores the credential and registers", async () => {
    const hub = await newHub();
    const polls: string[] = [];
    const home = newHome();
    let deviceId = "";
    const rotate = pairing(
      hub,
      () =>
        polls.length < 2
          ? [200, { state: "pending", expiresAt: new Date(Date.now() + 600_000).toISOString() }]
          : [200, { state: "approved", credential: "wdc_paired", deviceId }],
      polls,
    );
    startCli(home, ["--version"]);
    spawnSync("mkdir", ["-p", "-m", "700", home]);
    deviceId = "e".repeat(32);
    writeFileSync(join(home, "device_id"), `${deviceId}\n`);
    const cli = startCli(home, ["--mode", "local", "--backend-url", hub.url]);
    await hub.until(() => hub.framesOf("device:register").length === 1, "register", 15_000);
    expect(cli.output()).toContain("Pairing code: ABCD-EFGH");
    expect(cli.output()).toContain(`${hub.url}/devices?pair=ABCD-EFGH`);
    expect(polls.every((h) => h === "Bearer poll_secret_123456")).toBe(true);
    expect(rotate).toEqual(["Bearer wdc_paired"]);
    expect(hub.upgrades[0]?.headers.authorization).toBe("Bearer wdc_1");
    expect(statSync(join(home, "credential.json")).mode & 0o777).toBe(0o600);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });

  it("stops with the platform's words when the code names one of the owner's devices (409)", async () => {
    const hub = await newHub();
    const message =
      "This code names your device “Work laptop”, which is connected (or reconnecting) right now: a pairing never replaces a connected device.";
    pairing(hub, () => [409, { error: { code: "device_online", message } }], []);
    const cli = startCli(newHome(), ["--backend-url", hub.url]);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain("Pairing code: ABCD-EFGH");
    expect(cli.output()).toContain("“Work laptop”, which is connected");
  });

  it("stops with a clear message when the code expires", async () => {
    const hub = await newHub();
    pairing(hub, () => [410, { error: { code: "pairing_expired", message: "expired" } }], []);
    const cli = startCli(newHome(), ["--backend-url", hub.url]);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain("Pairing code: ABCD-EFGH");
    expect(cli.output()).toMatch(/expired before it was approved\. Run wegent-executor again/);
  });
});

describe("cloud mode", () => {
  it("refuses to start without a working bubblewrap, naming the package", () => {
    const result = spawnSync(process.execPath, [CLI, "--mode", "cloud", "--token", TOKEN], {
      encoding: "utf8",
      timeout: 15_000,
      env: { PATH: "/nonexistent", WEGENT_EXECUTOR_HOME: newHome(), ANTHROPIC_API_KEY: "k" },
    });
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/Install the Debian package `bubblewrap`/);
  });
});
