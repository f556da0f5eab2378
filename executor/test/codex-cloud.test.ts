// Codex in the cloud pool, for real: the real `codex` binary (@openai/codex) in the real
// bubblewrap sandbox (cloud-launcher.ts), reaching the fake Responses API only through its
// run's socket and the model proxy, which puts the operator's OpenAI key on the way out. The
// agent itself (scripted by the fake model) hunts the key and tries the proxy for more than
// inference, and a finished run's secret is tried again from another task.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeResponses, startFakeResponses } from "../../e2e/fake-model/responses";
import { type Logger, silentLogger } from "../src/log";
import {
  CODEX_SECRET_VARIABLE,
  codexInstallDir,
  codexModelAccess,
  createCloudCodexRuntime,
  nativeCodex,
} from "../src/runtime/codex/cloud";
import type { AgentRuntime, RunRequest } from "../src/runtime/types";
import { findBwrap } from "../src/sandbox/bwrap";
import { cloudLauncher } from "../src/sandbox/cloud-launcher";
import { DEFAULT_LIMITS, planLimits } from "../src/sandbox/limits";
import {
  type ModelProxy,
  OPENAI_RESPONSES_API,
  openaiCredential,
  startModelProxy,
} from "../src/sandbox/model-proxy";
import { refusal } from "../src/sandbox/request-policy";
import { sandboxIt } from "./needs-sandbox";
import { runAndRecord } from "./runtime-helpers";
import { marked } from "./marked-processes";

const CODEX = join(import.meta.dirname, "../../node_modules/.bin/codex");
const OPERATOR_KEY = `sk-proj-operator-${"9".repeat(24)}-never-inside`;

const root = mkdtempSync(join(tmpdir(), "wegent-codex-cloud-"));
let fake: FakeResponses;
let upstream: Server;
/** What reached "OpenAI" (the fake behind a recorder): method, path, Authorization. */
const reached: { line: string; authorization: string }[] = [];
/** What the proxy refused (its debug log). */
const refused: string[] = [];
let proxy: ModelProxy;
let claudeProxy: ModelProxy;
let runtime: AgentRuntime;
let removeAll: () => Promise<void>;

const recordingLog: Logger = {
  ...silentLogger,
  debug: (message, fields) => refused.push(`${message} ${JSON.stringify(fields)}`),
};

beforeAll(async () => {
  fake = await startFakeResponses();
  const fakeUrl = new URL(fake.url);
  // "OpenAI": records each request, then passes it to the fake Responses API.
  upstream = createServer((req, res) => {
    reached.push({
      line: `${req.method} ${req.url}`,
      authorization: req.headers.authorization ?? "",
    });
    const out = httpRequest(
      {
        host: fakeUrl.hostname,
        port: fakeUrl.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: fakeUrl.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(out);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const credential = openaiCredential({ OPENAI_API_KEY: OPERATOR_KEY });
  if (!credential) throw new Error("no credential");
  proxy = await startModelProxy({
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
    credential,
    api: OPENAI_RESPONSES_API,
    log: recordingLog,
  });
  claudeProxy = await startModelProxy({
    upstream: "http://127.0.0.1:9",
    credential: { header: "x-api-key", value: "sk-ant-unused", agentVariable: "ANTHROPIC_API_KEY" },
  });
  const native = nativeCodex(CODEX);
  if (!native) throw new Error(`no native codex behind ${CODEX}`);
  const launcher = cloudLauncher({
    bwrap: findBwrap() ?? "bwrap",
    proxy: claudeProxy,
    credential: { header: "x-api-key", value: "sk-ant-unused", agentVariable: "ANTHROPIC_API_KEY" },
    nextMarker: () => "codex-cloud-test.1",
    readOnly: [codexInstallDir(native)],
    socketRoot: mkdtempSync(join(tmpdir(), "wegent-model-test-")),
    node: process.execPath,
    limits: planLimits(DEFAULT_LIMITS, {
      prlimit: findBwrap(process.env.PATH, "prlimit"),
      perTaskUid: process.getuid?.() === 0,
      cgroup: { why: "not in this test" },
    }),
    // Kept after each run, so the test can read what the agent wrote.
    keepIdleMs: 600_000,
    log: silentLogger,
  });
  removeAll = () => launcher.removeAll();
  runtime = createCloudCodexRuntime({
    executable: native,
    launcher: launcher.withModel(codexModelAccess(proxy)),
    model: "fake-model",
    permissionMode: "bypassPermissions",
  });
});

afterAll(async () => {
  await removeAll?.();
  await proxy?.close();
  await claudeProxy?.close();
  await fake?.close();
  upstream?.close();
  rmSync(root, { recursive: true, force: true });
});

let count = 0;
function task(prompt: string): RunRequest {
  count += 1;
  const taskId = `00000000-0000-4000-8000-${String(count).padStart(12, "0")}`;
  const base = join(root, taskId);
  const req: RunRequest = {
    taskId,
    messageId: `${taskId}-m`,
    prompt,
    resumeSessionId: null,
    workspaceDir: join(base, "ws"),
    homeDir: join(base, "task", "home"),
    tmpDir: join(base, "task", "tmp"),
    permissionMode: "bypassPermissions",
  };
  for (const dir of [req.workspaceDir, req.homeDir, req.tmpDir])
    mkdirSync(dir, { recursive: true });
  return req;
}

/** Node inside the sandbox (its install folder is mounted for the relay). */
const NODE = process.execPath;
const NODE_DIR = dirname(NODE);

/**
 * Tries the proxy (through the relay) with each `[label, method, path, secret]` in one Node
 * process (Codex hands a command back after ~10 s); prints `LABEL <status>` per probe. The
 * secret "mine" is the run's own, from its environment.
 */
const PROBES = String.raw`
const probes = JSON.parse(Buffer.from(process.argv[1], "base64").toString());
(async () => {
  for (const [label, method, path, secret] of probes) {
    const bearer = secret === "mine" ? process.env.${CODEX_SECRET_VARIABLE} : secret;
    const line = await fetch("http://127.0.0.1:8377" + path, {
      method,
      headers: { authorization: "Bearer " + bearer, "content-type": "application/json" },
      ...(method === "GET" ? {} : { body: "{}" }),
      signal: AbortSignal.timeout(5000),
    }).then((r) => r.status, (e) => "refused " + (e.cause?.code ?? e.message));
    console.log(label + " " + line);
  }
})();
`;
const tryProxy = (probes: [string, string, string, string][]) =>
  `echo ${Buffer.from(PROBES).toString("base64")} | base64 -d > /tmp/probes.js; ${NODE} -e "$(cat /tmp/probes.js)" ${Buffer.from(JSON.stringify(probes)).toString("base64")}`;

/** One request over a Unix socket (what the in-sandbox relay forwards to). */
function viaSocket(
  socketPath: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(method === "GET" ? undefined : "{}");
  });
}

describe("model proxy for the Responses API", () => {
  it("takes the run's secret as the bearer, sends the operator's key, organisation and project instead of the agent's, maps /v1 onto the base URL, and refuses other runs, other paths and revoked runs", async () => {
    const got: { line: string; headers: Record<string, unknown> }[] = [];
    const server = createServer((req, res) => {
      got.push({ line: `${req.method} ${req.url}`, headers: req.headers });
      req.resume();
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const credential = openaiCredential({
      CODEX_API_KEY: "sk-codex-operator",
      OPENAI_ORGANIZATION: "org-operator",
      OPENAI_PROJECT: "proj-operator",
    });
    if (!credential) throw new Error("no credential");
    const unit = await startModelProxy({
      upstream: `http://127.0.0.1:${(server.address() as AddressInfo).port}/openai/v1`,
      credential,
      api: OPENAI_RESPONSES_API,
    });
    try {
      const socket = join(root, "unit.sock");
      const run = await unit.issue(socket);
      const other = await unit.issue(join(root, "unit-other.sock"));
      const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
      expect(
        await viaSocket(socket, "POST", "/v1/responses", {
          ...bearer(run.secret),
          "openai-organization": "org-victim",
          "OpenAI-Project": "proj-victim",
        }),
      ).toBe(200);
      expect(got).toHaveLength(1);
      expect(got[0]?.line).toBe("POST /openai/v1/responses");
      expect(got[0]?.headers).toMatchObject({
        authorization: "Bearer sk-codex-operator",
        "openai-organization": "org-operator",
        "openai-project": "proj-operator",
      });
      expect(await viaSocket(socket, "POST", "/v1/responses", bearer(other.secret))).toBe(403);
      expect(await viaSocket(socket, "POST", "/v1/responses")).toBe(403);
      expect(await viaSocket(socket, "POST", `/t/${run.secret}/v1/responses`)).toBe(403);
      for (const [method, path] of [
        ["GET", "/v1/models"],
        ["POST", "/v1/files"],
        ["POST", "/v1/responses/compact"],
        ["POST", "/responses"],
        ["POST", "/v1/responses/%2e%2e/files"],
      ] as const)
        expect(await viaSocket(socket, method, path, bearer(run.secret)), path).toBe(404);
      unit.revoke(run.secret);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await expect(
        viaSocket(socket, "POST", "/v1/responses", bearer(run.secret)),
      ).rejects.toThrow();
      expect(got).toHaveLength(1);
    } finally {
      await unit.close();
      server.close();
    }
  });
});

describe("Codex in the cloud pool (real codex, real bubblewrap, model proxy)", () => {
  sandboxIt(
    "answers through the task's socket: only POST /v1/responses reaches OpenAI, with the operator's key the agent never had",
    async () => {
      const req = task("Hello from the pool");
      const rec = await runAndRecord(runtime, req);
      expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({
        ok: true,
        text: "Echo: Hello from the pool",
      });
      expect(rec.streamedText).toBe("Echo: Hello from the pool");
      // What Codex asked of the model API for a turn, measured: the Responses endpoint only.
      expect(reached.map((r) => r.line)).toEqual(["POST /v1/responses"]);
      expect(reached[0]?.authorization).toBe(`Bearer ${OPERATOR_KEY}`);
      expect(refused).toEqual([]);
      // The task's own CODEX_HOME: the pool's provider at the relay, its key the run's secret.
      const config = readFileSync(join(req.homeDir, ".codex", "config.toml"), "utf8");
      expect(config).toContain('base_url = "http://127.0.0.1:8377/v1"');
      expect(config).toContain(`env_key = "${CODEX_SECRET_VARIABLE}"`);
      expect(config).toContain("plugins = false");
      expect(config).toContain('web_search = "disabled"');
      expect(config).not.toContain(OPERATOR_KEY);

      // A follow-up in the same task resumes the thread from its CODEX_HOME in the sandbox.
      if (!rec.outcome.ok) throw new Error("failed");
      const next = await runAndRecord(runtime, {
        ...req,
        messageId: `${req.taskId}-m2`,
        prompt: "recall",
        resumeSessionId: rec.outcome.sessionId,
      });
      expect(next.outcome, JSON.stringify(next.outcome)).toMatchObject({
        ok: true,
        text: "Earlier: Hello from the pool",
        sessionId: rec.outcome.sessionId,
      });

      // Plan mode (Codex's read-only sandbox, inside ours): it still answers.
      const plan = await runAndRecord(runtime, {
        ...task("Plan from the pool"),
        permissionMode: "plan",
      });
      expect(plan.outcome, JSON.stringify(plan.outcome)).toMatchObject({
        ok: true,
        text: "Echo: Plan from the pool",
      });
      expect(reached.map((r) => r.line)).toEqual(Array(3).fill("POST /v1/responses"));
      // What codex 0.171 asks of the provider, measured: function tools and a namespace of
      // them; no web search (the pool's config turns off Codex's default live search), nothing
      // the proxy's body rules refuse (request-policy.ts).
      const tools = fake.requests.flatMap((r) =>
        ((r as { tools?: { type?: string }[] }).tools ?? []).map((t) => t.type),
      );
      expect(new Set(tools)).toEqual(new Set(["function", "namespace"]));
      for (const body of fake.requests)
        expect(refusal("openai-responses", body), JSON.stringify(Object.keys(body))).toBeNull();
    },
    90_000,
  );

  sandboxIt(
    "a cancel mid-turn ends the sandboxed Codex and every process of its sandbox within 1 s",
    async () => {
      const controller = new AbortController();
      const deltas: string[] = [];
      const started = runtime.run(
        task("hang in the pool"),
        (e) => {
          if (e.kind === "text") deltas.push(e.delta);
        },
        controller.signal,
      );
      const deadline = Date.now() + 30_000;
      while (deltas.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(deltas).toEqual(["Working"]);
      expect(marked("codex-cloud-test.1").length).toBeGreaterThan(0);
      const t0 = Date.now();
      controller.abort("cancelled");
      const outcome = await started;
      expect(outcome).toMatchObject({ ok: false, code: "cancelled", text: "Working" });
      await new Promise((r) => setTimeout(r, 50));
      expect(marked("codex-cloud-test.1")).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(1000);
    },
    60_000,
  );

  sandboxIt(
    "never writes the task's CODEX_HOME through a link the agent left in its HOME (the executor is root there)",
    async () => {
      const victims = join(root, "victims");
      mkdirSync(victims, { recursive: true });
      const victimFile = join(victims, "crontab");
      writeFileSync(victimFile, "victim file\n", { mode: 0o644 });
      const victimDir = join(victims, "dir");
      mkdirSync(victimDir);
      const before = statSync(victimFile);
      // Message 1 swaps its config.toml for a link to a host file (its path as if leaked).
      const req = task(`run: ln -sf ${victimFile} /home/agent/.codex/config.toml && echo planted`);
      const first = await runAndRecord(runtime, req);
      expect(first.outcome, JSON.stringify(first.outcome)).toMatchObject({ ok: true });
      expect(lstatSync(join(req.homeDir, ".codex", "config.toml")).isSymbolicLink()).toBe(true);
      if (!first.outcome.ok) throw new Error("failed");
      // Message 2 (a follow-up): the executor writes the config again, not through the link.
      const second = await runAndRecord(runtime, {
        ...req,
        messageId: `${req.taskId}-m2`,
        prompt: `run: cd /home/agent && mv .codex .codex-old && ln -s ${victimDir} .codex && echo planted`,
        resumeSessionId: first.outcome.sessionId,
      });
      expect(readFileSync(victimFile, "utf8")).toBe("victim file\n");
      expect(statSync(victimFile)).toMatchObject({ uid: before.uid, mode: before.mode });
      expect(second.outcome, JSON.stringify(second.outcome)).toMatchObject({ ok: true });
      expect(lstatSync(join(req.homeDir, ".codex")).isSymbolicLink()).toBe(true);
      // Message 3: its CODEX_HOME is now a link out; refused, nothing written there.
      const third = await runAndRecord(runtime, {
        ...req,
        messageId: `${req.taskId}-m3`,
        prompt: "Hello again",
        resumeSessionId: null,
      });
      expect(third.outcome.ok).toBe(false);
      expect(readdirSync(victimDir)).toEqual([]);
      expect(statSync(victimDir).uid).toBe(before.uid);
    },
    90_000,
  );

  sandboxIt(
    "keeps the OpenAI key out of a prompt-injected agent's reach and the proxy to inference; a finished run's secret opens nothing",
    async () => {
      const hunt = [
        "{ env;",
        "for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ; tr '\\0' ' ' < $p/cmdline; echo; done;",
        // Every file it can see outside the read-only system, for the key's prefix.
        `grep -rls "$(printf 'sk-%s' proj)" /workspace /home /tmp /run /etc ${NODE_DIR};`,
        `echo "$${CODEX_SECRET_VARIABLE}" > /workspace/secret.txt;`,
        tryProxy([
          ["RESPONSES_NO_SECRET", "POST", "/v1/responses", ""],
          ["RESPONSES_WRONG_SECRET", "POST", "/v1/responses", "0".repeat(64)],
          ["MODELS", "GET", "/v1/models", "mine"],
          ["FILES", "GET", "/v1/files", "mine"],
          ["BATCHES", "POST", "/v1/batches", "mine"],
          ["ADMIN", "GET", "/v1/organization/admin_api_keys", "mine"],
          ["TRAVERSAL", "POST", "/v1/responses/../files", "mine"],
          ["RESPONSE_GET", "GET", "/v1/responses/resp_1", "mine"],
        ]) + ";",
        "} > /workspace/hunt.txt 2>&1; echo hunted",
      ].join(" ");
      reached.length = 0;
      const first = task(`run: ${hunt}`);
      const rec = await runAndRecord(runtime, first);
      expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
      const seen = readFileSync(join(first.workspaceDir, "hunt.txt"), "utf8");
      // The hunt ran (it saw the secret variable and Codex's own process).
      expect(seen).toContain(`${CODEX_SECRET_VARIABLE}=`);
      expect(seen).toMatch(/app-server/);
      expect(seen).not.toContain(OPERATOR_KEY);
      expect(seen).not.toContain("sk-proj");
      const status = (label: string) => new RegExp(`^${label} (.*)$`, "m").exec(seen)?.[1];
      expect(status("RESPONSES_NO_SECRET")).toBe("403");
      expect(status("RESPONSES_WRONG_SECRET")).toBe("403");
      for (const label of ["MODELS", "FILES", "BATCHES", "ADMIN", "TRAVERSAL", "RESPONSE_GET"])
        expect(status(label), `${label}: ${seen.slice(-1500)}`).toBe("404");
      // Only Codex's own turns reached OpenAI: the command call and the answer after it.
      expect(reached.map((r) => r.line)).toEqual(["POST /v1/responses", "POST /v1/responses"]);

      // The first run is over: its secret, from another task's sandbox, opens nothing.
      const secret = readFileSync(join(first.workspaceDir, "secret.txt"), "utf8").trim();
      expect(secret).toMatch(/^[a-f0-9]{64}$/);
      const second = task(
        `run: { ${tryProxy([["OLD_SECRET", "POST", "/v1/responses", secret]])}; } > /workspace/old.txt 2>&1`,
      );
      const rec2 = await runAndRecord(runtime, second);
      expect(rec2.outcome, JSON.stringify(rec2.outcome)).toMatchObject({ ok: true });
      const old = readFileSync(join(second.workspaceDir, "old.txt"), "utf8");
      expect(old).toMatch(/^OLD_SECRET 403$/m);
      expect(reached.filter((r) => r.authorization !== `Bearer ${OPERATOR_KEY}`)).toEqual([]);
    },
    120_000,
  );
});
