// The pieces that keep agents contained, run for real: the lifeline watcher, the loopback
// model proxy, and the bubblewrap sandbox (skipped where bwrap does not work).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../src/log";
import { findBwrap, probeSandbox } from "../src/sandbox/bwrap";
import { cloudAgentEnv, cloudLauncher } from "../src/sandbox/cloud-launcher";
import { startModelProxy } from "../src/sandbox/model-proxy";
import { lifelineLauncher } from "../src/security/lifeline";
import type { RunRequest } from "../src/runtime/types";

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

function marked(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "utf8").includes(`WEGENT_AGENT=${marker}\0`))
        found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
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
      const run = proxy.issue();
      const res = await fetch(`${run.baseUrl}/v1/messages?beta=true`, {
        method: "POST",
        headers: {
          "x-api-key": "dummy",
          authorization: "Bearer stolen?",
          "content-type": "application/json",
        },
        body: JSON.stringify({ hello: 1 }),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("event: one\n\nevent: two\n\n");
      expect(seen[0]?.url).toBe("/base/v1/messages?beta=true");
      expect(seen[0]?.headers["x-api-key"]).toBe("sk-operator-real");
      expect(seen[0]?.headers.authorization).toBeUndefined();
      expect(seen[0]?.body).toBe('{"hello":1}');

      const unknown = await fetch(`http://127.0.0.1:${proxy.port}/t/${"0".repeat(64)}/v1/messages`);
      expect(unknown.status).toBe(403);
      proxy.revoke(run.secret);
      const revoked = await fetch(`${run.baseUrl}/v1/messages`, { method: "POST", body: "{}" });
      expect(revoked.status).toBe(403);
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
      const run = proxy.issue();
      const status = async (method: string, path: string) =>
        (
          await fetch(`${run.baseUrl}${path}`, {
            method,
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
      "http://127.0.0.1:1/t/x",
      { header: "x-api-key", value: "sk-op", agentVariable: "ANTHROPIC_API_KEY" },
      "run.1",
    );
    expect(JSON.stringify(env)).not.toMatch(/never-inside|sk-op/);
    expect(env.MAX_THINKING_TOKENS).toBe("1024");
    expect(env.PATH).toBe("/usr/bin");
  });
});

const bwrap = findBwrap();
const sandboxWorks = process.platform === "linux" && probeSandbox(bwrap) === null;

describe.runIf(sandboxWorks)("bubblewrap sandbox", () => {
  it("shows a task only its own workspace and HOME, a fresh /proc, no operator key, and removes its folders", async () => {
    const proxy = await startModelProxy({
      upstream: "http://127.0.0.1:9",
      credential: {
        header: "x-api-key",
        value: "sk-operator-never-inside",
        agentVariable: "ANTHROPIC_API_KEY",
      },
    });
    const launcher = cloudLauncher({
      bwrap: bwrap ?? "bwrap",
      proxy,
      credential: {
        header: "x-api-key",
        value: "sk-operator-never-inside",
        agentVariable: "ANTHROPIC_API_KEY",
      },
      nextMarker: () => "sandbox-test.1",
      readOnly: [],
      keepIdleMs: 0,
      log: silentLogger,
    });
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
    const proc = plan.spawn("/bin/sh", ["-c", script], undefined, {
      PATH: "/usr/bin:/bin",
      ANTHROPIC_API_KEY: "sk-operator-never-inside",
      SOME_TOKEN: "tok-never-inside",
      MAX_THINKING_TOKENS: "1024",
    });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const code = await new Promise((resolve) => proc.on("exit", resolve));
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
    expect(procs).toBeLessThan(6);
    if (process.getuid?.() === 0) expect(out).toMatch(/^7[01]\d{3}$/m);
    expect(readFileSync(join(mine.workspaceDir, "mine"), "utf8")).toBe("hi\n");
    await plan.dispose();
    expect(() => execFileSync("ls", [mine.workspaceDir], { stdio: "pipe" })).toThrow();
    await proxy.close();
  });
});
