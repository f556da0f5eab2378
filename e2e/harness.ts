// End-to-end harness: the real platform (`wrangler dev` on loopback, fresh local state), real
// wegent-executor processes, and the fake model API. Every process it starts is stopped by
// `stop()`; every wait is bounded.
import { removeTree } from "./remove-tree";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "node_modules/.bin");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export async function until<T>(
  check: () => T | Promise<T>,
  ms: number,
  what: string,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Signals a detached child's whole process group; SIGKILLs it if it is still there after `graceMs`. */
async function stopGroup(
  proc: ChildProcess,
  exited: Promise<unknown>,
  signal: NodeJS.Signals,
  graceMs: number,
) {
  const pid = proc.pid;
  if (pid === undefined || proc.exitCode !== null) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  kill(signal);
  const timer = setTimeout(() => kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Platform {
  origin: string;
  port: number;
  stateDir: string;
  logs: string[];
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  vars?: Record<string, string>;
}

/** Starts `wrangler dev` with its own persisted state in a temp folder. */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  if (!existsSync(join(ROOT, "web/dist/index.html"))) {
    throw new Error("web/dist is missing: run `npm run build` first (npm test does)");
  }
  const stateDir = mkdtempSync(join(tmpdir(), "wegent-e2e-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };
  const migrate = spawnSync(
    join(BIN, "wrangler"),
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir],
    {
      cwd: ROOT,
      env,
      encoding: "utf8",
    },
  );
  if (migrate.status !== 0)
    throw new Error(`migrations failed: ${migrate.stderr}${migrate.stdout}`);
  let port = await freePort();
  const vars = { JWT_SECRET: "e2e-secret", ...options.vars };
  const logs: string[] = [];
  let child: ChildProcess | null = null;

  const boot = async () => {
    // `wrangler dev` without its DevTools inspector (scripts/wrangler-dev.mjs): with one, any
    // local process could evaluate code in the Worker (issue #26).
    const args = [
      join(ROOT, "scripts/wrangler-dev.mjs"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      stateDir,
    ];
    for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
    const proc = spawn(process.execPath, args, {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child = proc;
    proc.stdout?.on("data", (d: Buffer) => logs.push(d.toString()));
    proc.stderr?.on("data", (d: Buffer) => logs.push(d.toString()));
    await until(
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`wrangler dev exited: ${logs.join("").slice(-2000)}`);
        try {
          return (await fetch(`http://127.0.0.1:${port}/api/health`)).ok;
        } catch {
          return false;
        }
      },
      90_000,
      "wrangler dev to answer /api/health",
    );
  };

  const halt = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    await stopGroup(proc, new Promise((r) => proc.once("exit", r)), "SIGTERM", 5000);
  };

  // A free port can be taken by another process before wrangler binds it (or wrangler's own
  // sockets collide with a parallel run): try again on a fresh port, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      await boot();
      break;
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
      await halt();
      logs.length = 0;
      port = await freePort();
    }
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    stateDir,
    logs,
    async restart() {
      await halt();
      await boot();
    },
    async stop() {
      await halt();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface Session {
  cookie: string;
  userId: string;
}

export async function api<T = unknown>(
  origin: string,
  method: string,
  path: string,
  options: {
    body?: unknown;
    cookie?: string;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: T; cookie: string | null }> {
  // What the web UI sends: JSON from the platform's own origin (cookie writes need both).
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Origin: origin,
    ...options.headers,
  };
  if (options.cookie) headers.Cookie = options.cookie;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await fetch(`${origin}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return {
    status: res.status,
    body: body as T,
    cookie: res.headers.get("set-cookie")?.split(";")[0] ?? null,
  };
}

let signUps = 0;
/**
 * A test client address per sign-up (198.18.0.0/15, for benchmarks): sign-ups are limited per
 * address (5 per 15 min), and tests and benches make many users from one machine.
 */
export function testClientAddress(): string {
  signUps += 1;
  return `198.18.${(signUps >> 8) & 255}.${signUps & 255}`;
}

export async function signUp(origin: string, username: string): Promise<Session> {
  const res = await api<{ user: { id: string } }>(origin, "POST", "/api/auth/signup", {
    body: { username, password: "e2e password 1" },
    headers: { "CF-Connecting-IP": testClientAddress() },
  });
  if (res.status !== 201 || !res.cookie)
    throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { cookie: res.cookie, userId: res.body.user.id };
}

export async function createToken(
  origin: string,
  session: Session,
  body: Record<string, unknown> = { name: "e2e" },
) {
  const res = await api<{ id: string; token: string; expiresAt: string }>(
    origin,
    "POST",
    "/api/tokens",
    {
      cookie: session.cookie,
      body,
    },
  );
  if (res.status !== 201)
    throw new Error(`token failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface ExecutorProcess {
  child: ChildProcess;
  home: string;
  deviceId: string;
  output: () => string;
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  exited(): Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

// The executor must run on the user's Node >= 20: use the machine's Node when it has one.
const EXECUTOR_NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;

let executorCount = 0;

/** Starts the built wegent-executor with its own home (and so its own device id). */
export function startExecutor(options: {
  origin: string;
  token: string;
  modelUrl?: string;
  mode?: "local" | "cloud";
  args?: string[];
  env?: Record<string, string>;
  /** Variables to leave out (e.g. ANTHROPIC_API_KEY for a machine with only a Claude login). */
  unsetEnv?: string[];
  deviceId?: string;
  /** Reuse an executor home (a restart); default a fresh one. */
  home?: string;
}): ExecutorProcess {
  executorCount += 1;
  const home = options.home ?? mkdtempSync(join(tmpdir(), "wegent-exec-"));
  const deviceId =
    options.deviceId ?? `e2e${process.pid}x${executorCount}${Date.now().toString(16)}`;
  mkdirSync(home, { recursive: true });
  // A pre-seeded id lets several executors share this machine in one test.
  writeFileSync(
    join(home, options.mode === "cloud" ? "device_id.cloud" : "device_id"),
    `${deviceId}\n`,
  );
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    WEGENT_EXECUTOR_HOME: home,
    WEGENT_TOKEN: options.token,
    ...(options.modelUrl
      ? {
          ANTHROPIC_BASE_URL: options.modelUrl,
          ANTHROPIC_API_KEY: "sk-e2e-fake",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          CLAUDE_CODE_MAX_RETRIES: "0",
          IS_SANDBOX: "1",
        }
      : {}),
    ...options.env,
  };
  for (const name of options.unsetEnv ?? []) delete env[name];
  const child = spawn(
    EXECUTOR_NODE,
    [
      join(ROOT, "executor/dist/cli.js"),
      "--mode",
      options.mode ?? "local",
      "--backend-url",
      options.origin,
      ...(options.args ?? []),
    ],
    { cwd: home, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exitPromise = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    child,
    home,
    deviceId,
    output: () => out,
    async waitFor(text, ms = 30_000) {
      await until(
        () => (typeof text === "string" ? out.includes(text) : text.test(out)),
        ms,
        `executor output ${String(text)}\n--- output so far:\n${out}`,
      );
    },
    exited: () => exitPromise,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null) return child.exitCode;
      await stopGroup(child, exitPromise, signal, 8000);
      const code = await exitPromise;
      // A Claude Code process the executor was stopping may still write into this HOME.
      removeTree(home);
      return code;
    },
  };
}
