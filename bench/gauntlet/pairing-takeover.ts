// Issue #26, findings 2 and 5, tried the way an attacker (or a new user) would against a real
// `wrangler dev`:
// - a stranger starts a pairing naming the device id of one of your running executors, and you
//   approve the code: the real executor must keep its device (today: it was kicked out and the
//   stranger received its credential);
// - the executor `npm start` runs and the one the README then starts, on one machine: two
//   devices, neither replacing the other (today: one machine id, the second took the first over);
// - a burst of 12 parallel sign-ups from one address (today: 12 argon2id accounts in 0.7 s);
// - a device token presented again after its exchange (today: a fresh credential family that
//   silently revoked the running executor's);
// - skill zips whose names clash (a file `a` and `a/b`, NFC and NFD spellings of one name).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, type ExecutorProcess, ROOT, until } from "../../e2e/harness";
import { makeZip, skillMd } from "../../worker/test/zip-writer";
import { ProtocolDevice } from "../lib/device";
import type { BenchUser } from "../lib/platform";
import { createTask, expectThat, launchExecutor, type Scenario, taskDetail } from "./context";

const EXECUTOR_NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;

interface ApiAnswer {
  status: number;
  code?: string;
}

async function startPairing(origin: string, deviceId: string, address: string) {
  const res = await api<{ pairingId: string; code: string; pollSecret: string }>(
    origin,
    "POST",
    "/api/pairings/start",
    {
      body: { deviceId, name: "Totally your laptop", platform: "linux-x64", version: "9.9.9" },
      headers: { "CF-Connecting-IP": address },
    },
  );
  expectThat(res.status === 201, `pairing start answered ${res.status}`);
  return res.body;
}

async function approve(origin: string, user: BenchUser, code: string, replace = false) {
  const res = await api<{ error?: { code: string } }>(origin, "POST", "/api/pairings", {
    cookie: user.session.cookie,
    body: replace ? { code, replaceDevice: true } : { code },
  });
  return { status: res.status, code: res.body.error?.code } satisfies ApiAnswer;
}

async function pollPairing(origin: string, pairingId: string, secret: string) {
  const res = await api<{ state?: string; credential?: string; error?: { code: string } }>(
    origin,
    "GET",
    `/api/pairings/${pairingId}`,
    { token: secret },
  );
  return { status: res.status, state: res.body.state, code: res.body.error?.code };
}

export const pairingTakeover: Scenario = {
  name: "pairing takeover: a code naming your running device's id",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const owner = await ctx.newUser();
    const real = launchExecutor(ctx, owner);
    await real.waitFor("registered");
    // The stranger knows the id (it shows in URLs, screenshots, logs) and starts a pairing.
    const pairing = await startPairing(origin, real.deviceId, "198.51.100.201");
    const shown = await api<{ existing?: { name: string; status: string } | null }>(
      origin,
      "GET",
      `/api/pairings/code/${pairing.code}`,
      { cookie: owner.session.cookie },
    );
    // The owner, talked into it, approves — even ticking "replace".
    const plain = await approve(origin, owner, pairing.code);
    const replacing = await approve(origin, owner, pairing.code, true);
    const polled = await pollPairing(origin, pairing.pairingId, pairing.pollSecret);
    expectThat(
      polled.state !== "approved",
      `the stranger received a credential for the owner's device (approve answered ${plain.status}, ${replacing.status})`,
    );
    expectThat(
      plain.status === 409 && plain.code === "device_online",
      `approve: ${plain.status} ${plain.code ?? ""}`,
    );
    expectThat(
      replacing.status === 409 && replacing.code === "device_online",
      `approve with replaceDevice: ${replacing.status} ${replacing.code ?? ""}`,
    );
    expectThat(
      shown.status === 200 && shown.body.existing?.status !== undefined,
      `the approval form was not told the code names an existing device (${shown.status})`,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expectThat(
      real.child.exitCode === null,
      `the real executor stopped: ${real.output().slice(-400)}`,
    );
    // The owner's next prompt still goes to the real executor.
    const { taskId } = await createTask(origin, owner, "still mine?", real.deviceId);
    const end = await until(
      async () => {
        const d = await taskDetail(origin, owner, taskId);
        return ["completed", "failed", "cancelled"].includes(d.task.status) ? d : undefined;
      },
      60_000,
      "the owner's task to end",
    );
    expectThat(end.task.status === "completed", `the owner's task ended ${end.task.status}`);
    return `approve → 409 device_online (plain and with replaceDevice); the form saw existing=${shown.body.existing?.status}; poll stays ${polled.state ?? polled.code}; the real executor kept its device and ran the next task`;
  },
};

/** A wegent-executor with no token and no stored id, on a shared user home: it pairs. */
function pairingExecutor(origin: string, userHome: string, home: string | null): ExecutorProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: userHome,
    ...(home ? { WEGENT_EXECUTOR_HOME: home } : {}),
    ANTHROPIC_API_KEY: "sk-gauntlet-fake",
  };
  const child = spawn(
    EXECUTOR_NODE,
    [join(ROOT, "executor/dist/cli.js"), "--mode", "local", "--backend-url", origin],
    { cwd: userHome, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const stateHome = home ?? join(userHome, ".wegent-executor");
  return {
    child,
    home: stateHome,
    get deviceId() {
      try {
        return readFileSync(join(stateHome, "device_id"), "utf8").trim();
      } catch {
        return "";
      }
    },
    output: () => out,
    async waitFor(text, ms = 30_000) {
      await until(
        () => (typeof text === "string" ? out.includes(text) : text.test(out)),
        ms,
        `executor output ${String(text)}\n--- output so far:\n${out}`,
      );
    },
    exited: () => exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 8_000))]);
      }
      return child.exitCode;
    },
  };
}

export const twoExecutorsOneMachine: Scenario = {
  name: "npm start's executor and the README's on one machine: two devices",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const owner = await ctx.newUser();
    const userHome = mkdtempSync(join(tmpdir(), "wegent-machine-"));
    ctx.cleanups.push(() => rmSync(userHome, { recursive: true, force: true }));
    // npm start: <repo>/.wrangler/executors/local; the README's: ~/.wegent-executor.
    const npmStartHome = join(userHome, "repo", ".wrangler", "executors", "local");
    mkdirSync(npmStartHome, { recursive: true });
    const first = pairingExecutor(origin, userHome, npmStartHome);
    ctx.executors.push(first);
    const codeOf = async (ex: ExecutorProcess) => {
      await ex.waitFor(/Pairing code: [A-Z0-9]{4}-[A-Z0-9]{4}/, 60_000);
      return /Pairing code: ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(ex.output())![1]!;
    };
    const firstCode = await codeOf(first);
    const a = await approve(origin, owner, firstCode);
    expectThat(a.status === 200, `approving the first: ${a.status} ${a.code ?? ""}`);
    await first.waitFor("registered", 60_000);
    const second = pairingExecutor(origin, userHome, null);
    ctx.executors.push(second);
    const secondCode = await codeOf(second);
    const b = await approve(origin, owner, secondCode);
    expectThat(
      first.deviceId !== second.deviceId,
      `both executors took device id ${first.deviceId} (approving the second answered ${b.status} ${b.code ?? ""})`,
    );
    expectThat(b.status === 200, `approving the second: ${b.status} ${b.code ?? ""}`);
    await second.waitFor("registered", 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expectThat(
      first.child.exitCode === null,
      `the first executor stopped: ${first.output().slice(-400)}`,
    );
    const devices = await api<{ devices: { id: string; status: string }[] }>(
      origin,
      "GET",
      "/api/devices",
      { cookie: owner.session.cookie },
    );
    const online = devices.body.devices.filter((d) => d.status !== "offline");
    expectThat(online.length === 2, `${online.length} devices online (expected 2)`);
    return `two ids (${first.deviceId.slice(0, 8)}…, ${second.deviceId.slice(0, 8)}…), both paired and online; neither replaced the other`;
  },
};

export const signUpBurst: Scenario = {
  name: "12 parallel sign-ups from one address",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const taken = await ctx.newUser();
    const address = `198.51.100.${50 + Math.floor(Math.random() * 100)}`;
    const signup = (username: string) =>
      api<{ error?: { code: string; message: string } }>(origin, "POST", "/api/auth/signup", {
        body: { username, password: "burst password 1" },
        headers: { "CF-Connecting-IP": address },
      });
    const stamp = Date.now().toString(36);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => signup(`burst_${stamp}_${i}`)),
    );
    const ms = performance.now() - started;
    const made = results.filter((r) => r.status === 201).length;
    const limited = results.filter((r) => r.status === 429).length;
    // After the burst, a taken name and a free one get the same answer.
    const probe = await signup(taken.name);
    const free = await signup(`free_${stamp}`);
    expectThat(made <= 5, `${made} of 12 parallel sign-ups made accounts in ${ms.toFixed(0)} ms`);
    expectThat(made + limited === 12, `statuses: ${results.map((r) => r.status).join(",")}`);
    expectThat(
      probe.status === 429 &&
        free.status === 429 &&
        probe.body.error?.code === free.body.error?.code,
      `after the burst: taken name → ${probe.status} ${probe.body.error?.code}, free name → ${free.status} ${free.body.error?.code}`,
    );
    return `${made} accounts, ${limited} refused 429 in ${ms.toFixed(0)} ms; then taken and free names both 429 too_many_attempts`;
  },
};

export const reusedDeviceToken: Scenario = {
  name: "a device token used again after its exchange",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const owner = await ctx.newUser();
    const created = await api<{ token: string }>(origin, "POST", "/api/tokens", {
      cookie: owner.session.cookie,
      body: { name: "gauntlet laptop", scope: "device" },
    });
    expectThat(created.status === 201, `device token: ${created.status}`);
    const token = created.body.token;
    const deviceId = `gauntlet${Date.now().toString(36)}t`;
    const exchange = async (secret: string) => {
      const res = await fetch(`${origin}/api/devices/credential`, {
        method: "POST",
        headers: { Authorization: `Bearer ${secret}`, "X-Device-Id": deviceId },
      });
      const body = (await res.json()) as { credential?: string; error?: { code: string } };
      return { status: res.status, credential: body.credential ?? "", code: body.error?.code };
    };
    const first = await exchange(token);
    expectThat(first.status === 200, `first exchange: ${first.status}`);
    const device = new ProtocolDevice({ origin, token: first.credential, deviceId });
    await device.connect();
    await device.register();
    ctx.cleanups.push(() => device.close());
    // Someone else holds a copy of the token and presents it again.
    const again = await exchange(token);
    expectThat(
      again.status === 401 && again.code === "token_used",
      `a second exchange of the device token: ${again.status} ${again.code ?? "a fresh credential"}`,
    );
    const closed = await device.closed(3_000);
    expectThat(closed !== null, "the device's socket stayed open after the token was reused");
    const list = await api<{ devices: { id: string; securityEvent?: { kind: string } | null }[] }>(
      origin,
      "GET",
      "/api/devices",
      { cookie: owner.session.cookie },
    );
    const event = list.body.devices.find((d) => d.id === deviceId)?.securityEvent;
    expectThat(event?.kind === "token_reuse", `device security event: ${JSON.stringify(event)}`);
    const third = await exchange(token);
    expectThat(third.code === "token_used", `a third exchange: ${third.status} ${third.code}`);
    return `second exchange → 401 token_used; the device's credentials revoked (socket closed ${closed}); the owner sees token_reuse`;
  },
};

export const clashingSkillZips: Scenario = {
  name: "skill zips whose names clash",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const md = { path: "SKILL.md", data: skillMd("clash", "Two names, one file.") };
    const zips: [string, Uint8Array][] = [
      [
        "file a and folder a/b",
        await makeZip([md, { path: "a", data: "x" }, { path: "a/b", data: "y" }]),
      ],
      [
        "NFC and NFD spellings",
        await makeZip([
          md,
          { path: "caf\u00e9.md", data: "x" },
          { path: "cafe\u0301.md", data: "y" },
        ]),
      ],
      [
        "case only",
        await makeZip([md, { path: "Notes.md", data: "x" }, { path: "notes.md", data: "y" }]),
      ],
    ];
    const wrong: string[] = [];
    for (const [what, zip] of zips) {
      const res = await fetch(`${origin}/api/skills`, {
        method: "POST",
        headers: {
          Cookie: user.session.cookie,
          "Content-Type": "application/zip",
          Origin: origin,
        },
        body: Buffer.from(zip),
      });
      const body = (await res.json()) as { error?: { code: string } };
      if (res.status !== 400 || body.error?.code !== "zip_name_clash")
        wrong.push(`${what}: ${res.status} ${body.error?.code ?? "accepted"}`);
    }
    expectThat(wrong.length === 0, wrong.join("; "));
    const list = await api<{ skills: unknown[] }>(origin, "GET", "/api/skills", {
      cookie: user.session.cookie,
    });
    expectThat(list.body.skills.length === 0, `${list.body.skills.length} skills stored`);
    return `${zips.length} clashing zips → 400 zip_name_clash, nothing stored`;
  },
};

export const pairingScenarios = [
  pairingTakeover,
  twoExecutorsOneMachine,
  signUpBurst,
  reusedDeviceToken,
  clashingSkillZips,
];
