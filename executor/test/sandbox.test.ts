// The pieces that keep agents contained, run for real: the lifeline watcher, the loopback
// model proxy, and the bubblewrap sandbox (skipped where bwrap does not work).
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type IncomingHttpHeaders, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../src/log";
import { sandboxIt } from "./needs-sandbox";
import { findBwrap } from "../src/sandbox/bwrap";
import { DEFAULT_LIMITS, planLimits, type SandboxLimits } from "../src/sandbox/limits";
import { cloudAgentEnv, cloudLauncher } from "../src/sandbox/cloud-launcher";
import { startModelProxy } from "../src/sandbox/model-proxy";
import { lifelineLauncher } from "../src/security/lifeline";
import type { RunRequest } from "../src/runtime/types";
import { marked } from "./marked-processes";

const root = mkdtempSync(join(tmpdir(), "wegent-sandbox-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function request(taskId: string): RunRequest {
  const base = join(root, taskId);
  const req: RunRequest = {
    taskId,
    messageId: `${taskId}-m`,
    prompt: "",
    resumeSessionId: null,
    workspaceDir: join(base, "ws"),
    homeDir: join(base, "task", "home"),
    tmpDir: join(base, "task", "tmp"),
  };
  for (const dir of [req.workspaceDir, req.homeDir, req.tmpDir])
    mkdirSync(dir, { recursive: true });
  return req;
}

/** One HTTP request over a Unix socket (what the in-sandbox relay forwards to). */
function viaSocket(
  socketPath: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, headers: options.headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(process.platform === "linux")("lifeline watcher", () => {
  it("kills the whole agent tree, setsid and double-forked included, when its lifeline closes", async () => {
    const marker = `test${process.pid}.1`;
    const plan = await lifelineLauncher(() => marker).prepare(request("life"));
    const proc = plan.spawn(
      "/bin/sh",
      [
        "-c",
        "tail -f /dev/null & setsid tail -f /dev/null & (tail -f /dev/null &); tail -f /dev/null",
      ],
      undefined,
      { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    );
    const until = async (check: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; !check(); await sleep(20)) {
        if (Date.now() > end) throw new Error("timed out");
      }
    };
    // watcher, sh, 4 tails
    await until(() => marked(marker).length >= 6, 5000);
    const started = Date.now();
    (proc.stdio[3] as NodeJS.WritableStream & { destroy(): void }).destroy();
    await until(() => marked(marker).length === 0, 3000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("passes the agent's exit code through", async () => {
    const plan = await lifelineLauncher(() => `exit${process.pid}`).prepare(request("exit"));
    const proc = plan.spawn("/bin/sh", ["-c", "cat; exit 7"], undefined, {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
    });
    proc.stdin.end("bye");
    const code = await new Promise((resolve) => proc.on("exit", resolve));
    expect(code).toBe(7);
  });
});

describe("model proxy", () => {
  it("replaces whatever credential the agent sends with the operator's, streams back, and refuses unknown or revoked runs", async () => {
    const seen: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
    const upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ url: req.url ?? "", headers: req.headers, body });
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("event: one\n\n");
        setTimeout(() => res.end("event: two\n\n"), 50);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as AddressInfo).port;
    const proxy = await startModelProxy({
      upstream: `http://127.0.0.1:${port}/base`,
      credential: {
        header: "x-api-key",
        value: "sk-operator-real",
        agentVariable: "ANTHROPIC_API_KEY",
      },
    });
    try {
      const socket = join(root, "proxy-a.sock");
      const run = await proxy.issue(socket);
      const other = await proxy.issue(join(root, "proxy-b.sock"));
      const res = await viaSocket(socket, "POST", `/t/${run.secret}/v1/messages?beta=true`, {
        headers: {
          "x-api-key": "dummy",
          authorization: "Bearer stolen?",
          "content-type": "application/json",
        },
        body: JSON.stringify({ hello: 1 }),
      });
      expect(res.status).toBe(200);
      expect(res.text).toBe("event: one\n\nevent: two\n\n");
      expect(seen[0]?.url).toBe("/base/v1/messages?beta=true");
      expect(seen[0]?.headers["x-api-key"]).toBe("sk-operator-real");
      expect(seen[0]?.headers.authorization).toBeUndefined();
      expect(seen[0]?.body).toBe('{"hello":1}');

      const unknown = await viaSocket(socket, "POST", `/t/${"0".repeat(64)}/v1/messages`);
      expect(unknown.status).toBe(403);
      // Another run's secret does not open this run's socket.
      const crossed = await viaSocket(socket, "POST", `/t/${other.secret}/v1/messages`);
      expect(crossed.status).toBe(403);
      proxy.revoke(run.secret);
      await sleep(50);
      await expect(viaSocket(socket, "POST", `/t/${run.secret}/v1/messages`)).rejects.toThrow();
      expect(seen).toHaveLength(1);
    } finally {
      await proxy.close();
      upstream.close();
    }
  });
});

describe("model proxy: what the operator key opens", () => {
  it("forwards only what Claude Code needs (POST /v1/messages, count_tokens), not the organisation's files, batches or admin API", async () => {
    const seen: string[] = [];
    const upstream = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as AddressInfo).port;
    const proxy = await startModelProxy({
      upstream: `http://127.0.0.1:${port}`,
      credential: { header: "x-api-key", value: "sk-op", agentVariable: "ANTHROPIC_API_KEY" },
    });
    try {
      const socket = join(root, "proxy-c.sock");
      const run = await proxy.issue(socket);
      const status = async (method: string, path: string) =>
        (
          await viaSocket(socket, method, `/t/${run.secret}${path}`, {
            ...(method === "GET" ? {} : { body: "{}" }),
          })
        ).status;
      expect(await status("POST", "/v1/messages?beta=true")).toBe(200);
      expect(await status("POST", "/v1/messages/count_tokens?beta=true")).toBe(200);
      // Another tenant's batch results and uploaded files, through the operator's key:
      expect(await status("GET", "/v1/messages/batches")).toBe(404);
      expect(await status("GET", "/v1/files")).toBe(404);
      expect(await status("GET", "/v1/organizations/api_keys")).toBe(404);
      expect(await status("GET", "/v1/messages")).toBe(404);
      expect(await status("POST", "/v1/messages/%2e%2e/files")).toBe(404);
      expect(await status("POST", "/v1/messages/../files")).toBe(404);
      expect(seen).toEqual([
        "POST /v1/messages?beta=true",
        "POST /v1/messages/count_tokens?beta=true",
      ]);
    } finally {
      await proxy.close();
      upstream.close();
    }
  });
});

describe("cloud agent environment", () => {
  it("drops every variable named like a credential, the mTLS key passphrase included", () => {
    const env = cloudAgentEnv(
      {
        PATH: "/usr/bin",
        CLAUDE_CODE_CLIENT_KEY_PASSPHRASE: "pass-never-inside",
        CLAUDE_CODE_OAUTH_TOKEN: "tok-never-inside",
        SOME_PASSWORD: "pw-never-inside",
        MAX_THINKING_TOKENS: "1024",
      },
      { ANTHROPIC_BASE_URL: "http://127.0.0.1:1/t/x", ANTHROPIC_API_KEY: "dummy" },
      "run.1",
    );
    expect(JSON.stringify(env)).not.toMatch(/never-inside|sk-op/);
    expect(env.MAX_THINKING_TOKENS).toBe("1024");
    expect(env.PATH).toBe("/usr/bin");
  });
});

const bwrap = findBwrap();

function sandboxLauncher(
  proxy: Awaited<ReturnType<typeof startModelProxy>>,
  limits: Partial<SandboxLimits> = {},
) {
  const socketRoot = mkdtempSync(join(tmpdir(), "wegent-model-test-"));
  return cloudLauncher({
    bwrap: bwrap ?? "bwrap",
    proxy,
    credential: {
      header: "x-api-key",
      value: "sk-operator-never-inside",
      agentVariable: "ANTHROPIC_API_KEY",
    },
    nextMarker: () => "sandbox-test.1",
    readOnly: [],
    socketRoot,
    node: process.execPath,
    limits: planLimits(
      { ...DEFAULT_LIMITS, ...limits },
      {
        prlimit: findBwrap(process.env.PATH, "prlimit"),
        perTaskUid: process.getuid?.() === 0,
        cgroup: { why: "not in this test" },
      },
    ),
    keepIdleMs: 0,
    log: silentLogger,
  });
}

/** Runs `script` with sh in the task's sandbox; its exit code and output. */
async function runIn(
  plan: Awaited<ReturnType<ReturnType<typeof sandboxLauncher>["prepare"]>>,
  script: string,
  env: Record<string, string> = {},
): Promise<{ code: unknown; out: string }> {
  const proc = plan.spawn("/bin/sh", ["-c", script], undefined, {
    PATH: "/usr/bin:/bin",
    ...env,
  });
  let out = "";
  proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
  proc.stdin.end();
  const code = await new Promise((resolve) => proc.on("exit", resolve));
  return { code, out };
}

// Skipped with one summary line where bwrap is missing; a failure under CI (needs-sandbox.ts).
describe("bubblewrap sandbox", () => {
  sandboxIt(
    "shows a task only its own workspace and HOME, a fresh /proc, no operator key, and removes its folders",
    async () => {
      const proxy = await startModelProxy({
        upstream: "http://127.0.0.1:9",
        credential: {
          header: "x-api-key",
          value: "sk-operator-never-inside",
          agentVariable: "ANTHROPIC_API_KEY",
        },
      });
      const launcher = sandboxLauncher(proxy);
      const other = request("other-task");
      writeFileSync(join(other.workspaceDir, "secret.txt"), "other tenant's secret");
      const mine = request("my-task");
      const plan = await launcher.prepare(mine);
      const script = [
        `cat ${other.workspaceDir}/secret.txt 2>&1`,
        "ls /proc | grep -c '^[0-9]'",
        "env",
        "id -u",
        `ls ${root} 2>&1`,
        "echo hi > /workspace/mine && echo hi > $HOME/mine && echo wrote",
        "touch /usr/x 2>&1 || true",
      ].join("; ");
      const { code, out } = await runIn(plan, script, {
        ANTHROPIC_API_KEY: "sk-operator-never-inside",
        SOME_TOKEN: "tok-never-inside",
        MAX_THINKING_TOKENS: "1024",
      });
      expect(code, out).toBe(0);
      expect(out).toContain("No such file or directory");
      expect(out).not.toContain("other tenant's secret");
      expect(out).not.toContain("sk-operator-never-inside");
      expect(out).not.toContain("tok-never-inside");
      expect(out).toContain("ANTHROPIC_BASE_URL=http://127.0.0.1:");
      expect(out).toContain("MAX_THINKING_TOKENS=1024");
      expect(out).toContain("wrote");
      expect(out).toMatch(/touch: cannot touch '\/usr\/x': Read-only file system/);
      const procs = Number(out.split("\n")[1]);
      expect(procs).toBeGreaterThan(0);
      // bwrap's init, the model relay, sh, ls, grep
      expect(procs).toBeLessThan(7);
      if (process.getuid?.() === 0) expect(out).toMatch(/^7[01]\d{3}$/m);
      expect(readFileSync(join(mine.workspaceDir, "mine"), "utf8")).toBe("hi\n");
      await plan.dispose();
      expect(() => execFileSync("ls", [mine.workspaceDir], { stdio: "pipe" })).toThrow();
      await proxy.close();
    },
  );

  sandboxIt(
    "has no network but its own loopback: the host's loopback is unreachable, the model answers through the relay, another task's socket is not there",
    async () => {
      // A host service on loopback (stands for the platform, the inspector, another proxy).
      const host = createServer((_req, res) => res.end("host service answered"));
      await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
      const hostPort = (host.address() as AddressInfo).port;
      const upstream = createServer((req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("event: one\n\n");
        setTimeout(
          () => res.end(`event: two ${req.headers["x-api-key"] === "sk-op-real"}\n\n`),
          30,
        );
      });
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
      const proxy = await startModelProxy({
        upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        credential: {
          header: "x-api-key",
          value: "sk-op-real",
          agentVariable: "ANTHROPIC_API_KEY",
        },
      });
      const launcher = sandboxLauncher(proxy);
      try {
        const a = await launcher.prepare(request("net-a"));
        const b = await launcher.prepare(request("net-b"));
        const fetchJs = (url: string) =>
          `node -e 'fetch(process.argv[1], {method: "POST", body: "{}"}).then(async (r) => console.log("status", r.status, JSON.stringify(await r.text()))).catch((e) => console.log("refused", e.cause?.code ?? e.message))' '${url}'`;
        const script = [
          `${fetchJs(`http://127.0.0.1:${hostPort}/`)}`,
          `${fetchJs("http://10.0.2.2:80/")}`,
          `node -e 'fetch(process.env.ANTHROPIC_BASE_URL + "/v1/messages", {method: "POST", body: "{}"}).then(async (r) => console.log("model", r.status, JSON.stringify(await r.text())))'`,
          "sed -n '3,$p' /proc/net/dev | cut -d: -f1",
          "ls /run/wegent",
        ].join("; ");
        const seenA = await runIn(a, script);
        expect(seenA.code, seenA.out).toBe(0);
        expect(seenA.out).not.toContain("host service answered");
        expect(seenA.out.match(/refused/g)?.length, seenA.out).toBe(2);
        expect(seenA.out).toContain('model 200 "event: one\\n\\nevent: two true\\n\\n"');
        expect(
          seenA.out.split("\n").filter((l) => /^\s*\w+$/.test(l) && l.trim() !== "model.sock"),
        ).toEqual(["    lo"]);
        // b cannot reach a's socket: its host folder is not mounted, its own holds only its own.
        const socketRoots = readdirSync(tmpdir()).filter((d) => d.startsWith("wegent-model-test-"));
        const aSocket = socketRoots
          .map((d) => join(tmpdir(), d, "net-a", "model.sock"))
          .find((p) => existsSync(p));
        expect(aSocket).toBeDefined();
        const seenB = await runIn(
          b,
          `node -e 'require("net").connect(process.argv[1]).on("connect", () => console.log("CONNECTED")).on("error", (e) => console.log("refused", e.code))' '${aSocket}'; ls /run/wegent`,
        );
        expect(seenB.out).toContain("refused ENOENT");
        expect(seenB.out).not.toContain("CONNECTED");
        await a.dispose();
        await b.dispose();
      } finally {
        await launcher.removeAll();
        await proxy.close();
        host.close();
        upstream.close();
      }
    },
    60_000,
  );

  sandboxIt(
    "bounds a task: processes, /tmp, one big file, and many files (stopped with a clear reason)",
    async () => {
      const proxy = await startModelProxy({
        upstream: "http://127.0.0.1:9",
        credential: { header: "x-api-key", value: "sk-op", agentVariable: "ANTHROPIC_API_KEY" },
      });
      const MB = 1024 * 1024;
      const launcher = sandboxLauncher(proxy, {
        processes: 64,
        tmpBytes: 8 * MB,
        workspaceBytes: 16 * MB,
      });
      try {
        const plan = await launcher.prepare(request("limits"));
        const bounded = await runIn(
          plan,
          [
            // 200 sleepers would need 200 processes; the uid may have 64 (root has no limit).
            "for i in $(seq 200); do (sleep 3 &) 2>/dev/null; done",
            // Counted without a fork (none is left); then wait until one works again, and until
            // every sleeper (3 s each, all started by now) is gone, so the next steps can fork.
            "set -- /proc/[0-9]*; echo started $#",
            "until sleep 4 2>/dev/null; do :; done",
            "dd if=/dev/zero of=/tmp/big bs=1M count=32 2>&1 | grep -E 'No space|copied'",
            "dd if=/dev/zero of=/workspace/big bs=1M count=32 2>&1 | tail -1; ls -l /workspace/big",
          ].join("; "),
        );
        const started = Number(/started (\d+)/.exec(bounded.out)?.[1] ?? "0");
        if (process.getuid?.() === 0) expect(started, bounded.out).toBeLessThanOrEqual(64);
        expect(bounded.out).toMatch(/No space left on device/);
        expect(bounded.out).toMatch(/^8388608 bytes/m);
        expect(bounded.out).toMatch(/File size limit exceeded|File too large/);
        expect(plan.stopReason?.()).toBeNull();
        await plan.dispose();

        // Many files, each under the per-file cap: the watchdog stops the run and says why.
        const plan2 = await launcher.prepare(request("limits-many"));
        const t0 = Date.now();
        const many = await runIn(
          plan2,
          "for i in $(seq 40); do dd if=/dev/zero of=/workspace/f$i bs=1M count=1 2>/dev/null; done; sleep 30; echo survived",
        );
        expect(many.out).not.toContain("survived");
        expect(Date.now() - t0).toBeLessThan(20_000);
        expect(plan2.stopReason?.()).toMatch(/over the limit of 16 MiB/);
        await plan2.dispose();
      } finally {
        await launcher.removeAll();
        await proxy.close();
      }
    },
    60_000,
  );
});
