// `npm start`: the whole platform on http://127.0.0.1:8787 from one command.
// Local D1, R2 and Durable Objects live under .wrangler/; migrations are applied; the web UI is
// built and served; a local admin account is created on first start and its sign-in printed;
// and (unless --no-executors) this machine joins as a local device and as a cloud executor.
import { spawn, spawnSync } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const port = Number(process.env.PORT ?? 8787);
const origin = `http://127.0.0.1:${port}`;
const withExecutors = !process.argv.includes("--no-executors");
// OTEL_* of this environment reach the Worker (scripts/wrangler-dev.mjs) and the executors.
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const stateDir = join(root, ".wrangler");
const adminFile = join(stateDir, "local-admin.json");
const children = [];

function step(title, cmd, args) {
  process.stdout.write(`▶ ${title}\n`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env });
  if (result.status !== 0) {
    process.stderr.write(`✗ ${title} failed\n`);
    process.exit(result.status ?? 1);
  }
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

async function api(method, path, { body, cookie } = {}) {
  const res = await fetch(`${origin}${path}`, {
    method,
    // JSON from the platform's own origin, as the web UI sends it (cookie writes need both).
    headers: {
      "Content-Type": "application/json",
      Origin: origin,
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  return { status: res.status, json, cookie: res.headers.get("set-cookie")?.split(";")[0] ?? null };
}

async function waitForHealth(deadlineMs) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    try {
      const res = await fetch(`${origin}/api/health`);
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Why a sandbox without network cannot be made here (the cloud pool needs one: a cloud task
 * must reach nothing on this machine), or null.
 */
function noNetworkSandboxProblem() {
  const probe = spawnSync(
    "bwrap",
    [
      "--unshare-net",
      "--unshare-pid",
      "--die-with-parent",
      "--ro-bind",
      "/",
      "/",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--",
      "/bin/sh",
      "-c",
      "sed -n '3,$p' /proc/net/dev | cut -d: -f1",
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  if (probe.error)
    return probe.error.code === "ENOENT"
      ? "bubblewrap is not installed (apt-get install bubblewrap)"
      : probe.error.message;
  if (probe.status !== 0) return (probe.stderr || `bwrap exited ${probe.status}`).trim();
  const interfaces = probe.stdout.split("\n").map((l) => l.trim());
  const foreign = interfaces.filter((name) => name && name !== "lo");
  if (foreign.length) return `the sandbox still sees network interfaces: ${foreign.join(", ")}`;
  return null;
}

function stopAll(signal = "SIGTERM") {
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

mkdirSync(stateDir, { recursive: true });
// The JWT secret for local runs; production sets it with `wrangler secret put JWT_SECRET`.
const devVars = join(root, ".dev.vars");
if (!existsSync(devVars)) {
  writeFileSync(devVars, `JWT_SECRET=${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
}
// Web Push: a local VAPID key pair (production: `wrangler secret put VAPID_PUBLIC_KEY` and
// `VAPID_PRIVATE_KEY`, see README), and loopback push endpoints allowed for local testing only.
const vars = readFileSync(devVars, "utf8");
if (!/^VAPID_PRIVATE_KEY=/m.test(vars)) {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const lines = [
    `VAPID_PUBLIC_KEY=${ecdh.getPublicKey().toString("base64url")}`,
    `VAPID_PRIVATE_KEY=${ecdh.getPrivateKey().toString("base64url")}`,
    `VAPID_SUBJECT=mailto:admin@localhost`,
    `PUSH_ALLOW_LOOPBACK=1`,
  ];
  writeFileSync(devVars, `${vars.replace(/\n?$/, "\n")}${lines.join("\n")}\n`, { mode: 0o600 });
}

step("applying D1 migrations (local)", "npx", [
  "wrangler",
  "d1",
  "migrations",
  "apply",
  "DB",
  "--local",
]);
step("building the web UI and wegent-executor", "npm", ["run", "--silent", "build"]);

process.stdout.write(`▶ starting the platform on ${origin}\n`);
// `wrangler dev` without its DevTools inspector: with one (127.0.0.1:9229), any local process —
// a cloud task included — could evaluate code in the Worker and read JWT_SECRET.
const wrangler = spawn(
  process.execPath,
  [join(root, "scripts/wrangler-dev.mjs"), "--ip", "127.0.0.1", "--port", String(port)],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"], env },
);
children.push(wrangler);
wrangler.on("exit", (code) => {
  stopAll();
  process.exit(code ?? 0);
});
process.on("SIGINT", () => stopAll("SIGINT"));
process.on("SIGTERM", () => stopAll("SIGTERM"));

if (!(await waitForHealth(90_000))) {
  process.stderr.write("✗ the platform did not answer /api/health within 90 s\n");
  stopAll();
  process.exit(1);
}

let admin = readJson(adminFile);
if (!admin) {
  const candidate = { username: "admin", password: randomBytes(12).toString("base64url") };
  const res = await api("POST", "/api/auth/signup", { body: candidate });
  if (res.status === 201 && res.json?.user?.isAdmin) {
    admin = candidate;
    writeFileSync(adminFile, JSON.stringify(admin, null, 2), { mode: 0o600 });
  } else {
    process.stdout.write(
      "ℹ accounts already exist here and no local admin was recorded; sign in with yours.\n",
    );
  }
}
if (admin) {
  process.stdout.write(
    `\n  Wegent Edge is running at ${origin}\n  Sign in as: ${admin.username} / ${admin.password}\n  (kept in .wrangler/local-admin.json)\n\n`,
  );
}

if (withExecutors && admin) {
  const login = await api("POST", "/api/auth/login", { body: admin });
  if (!login.cookie) {
    process.stderr.write("✗ could not sign in as the local admin to start the executors\n");
  } else {
    // Tokens of earlier starts are revoked, not piled up: each start makes one per executor.
    const earlier = await api("GET", "/api/tokens", { cookie: login.cookie });
    for (const old of earlier.json?.tokens ?? []) {
      if (old.name.startsWith("npm start (") && !old.revokedAt) {
        await api("DELETE", `/api/tokens/${old.id}`, { cookie: login.cookie });
      }
    }
    for (const mode of ["local", "cloud"]) {
      const problem = mode === "cloud" ? noNetworkSandboxProblem() : null;
      if (problem) {
        process.stderr.write(
          `✗ not starting the cloud pool: its tasks must run in a sandbox without network, and none can be made here: ${problem}\n  Cloud tasks wait in the queue; this machine's own device runs. Fix the above (bubblewrap, user/network namespaces or root) and start again.\n`,
        );
        continue;
      }
      const token = await api("POST", "/api/tokens", {
        cookie: login.cookie,
        // Connect-only tokens: `device` for the local executor, `cloud` (operator) for the pool.
        body: {
          name: `npm start (${mode})`,
          days: 7,
          scope: mode === "cloud" ? "cloud" : "device",
        },
      });
      if (token.status !== 201) {
        process.stderr.write(`✗ could not create a ${mode} token: ${JSON.stringify(token.json)}\n`);
        continue;
      }
      const home = join(stateDir, "executors", mode);
      mkdirSync(home, { recursive: true });
      const child = spawn(
        process.execPath,
        [join(root, "executor/dist/cli.js"), "--mode", mode, "--backend-url", origin],
        {
          cwd: root,
          stdio: ["ignore", "inherit", "inherit"],
          // The token goes through the environment, never the command line (ps shows that).
          env: { ...env, WEGENT_TOKEN: token.json.token, WEGENT_EXECUTOR_HOME: home },
        },
      );
      children.push(child);
    }
  }
}
