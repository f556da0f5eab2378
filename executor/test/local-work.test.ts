import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_TRANSCRIPT_BYTES, type TranscriptEntry } from "@wegent/protocol";
import { answerDeviceRequest } from "../src/connection/device-rpc";
import { findCredentials } from "../src/local/credentials";
import {
  captureLoginEnvironment,
  localAgentEnvironment,
  parseEnvOutput,
} from "../src/local/environment";
import { LocalWork } from "../src/local/local-work";
import { ProjectRegistry, projectId } from "../src/local/projects";
import { capTranscript, parseTranscript, sessionDir } from "../src/local/sessions";

const dirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "wegent-local-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function repo(path: string): string {
  mkdirSync(path, { recursive: true });
  const run = (...args: string[]) => execFileSync("git", args, { cwd: path, stdio: "ignore" });
  run("init", "-q", "-b", "main");
  run("-c", "user.email=t@e", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init");
  return path;
}

const never = new AbortController().signal;

describe("projects", () => {
  it("finds git repositories up to two levels below the root, refuses symlinks leading outside", async () => {
    const root = tmp();
    const outside = repo(join(tmp(), "outside"));
    repo(join(root, "a"));
    repo(join(root, "group", "b"));
    repo(join(root, "x", "y", "too-deep"));
    repo(join(root, "node_modules", "dep"));
    symlinkSync(outside, join(root, "escape"));
    const registry = new ProjectRegistry("device-1", { projects: [], projectsRoot: root });
    const names = (await registry.scan()).map((p) => p.name).sort();
    expect(names).toEqual(["a", "b"]);
    const a = registry.list().find((p) => p.name === "a")!;
    expect(a).toMatchObject({ git: true, branch: "main", dirty: false });
    expect(a.id).toBe(projectId("device-1", a.path));
    // Another device's id for the same path is another id.
    expect(projectId("device-2", a.path)).not.toBe(a.id);
  });

  it("refuses unknown ids and a project swapped for a symlink after it was offered", async () => {
    const base = tmp();
    const project = repo(join(base, "proj"));
    const outside = repo(join(base, "outside"));
    const registry = new ProjectRegistry("dev", { projects: [project], projectsRoot: null });
    const [p] = await registry.scan();
    expect((await registry.lookup(p!.id)).ok).toBe(true);
    expect(await registry.lookup("p_madeup")).toMatchObject({
      ok: false,
      code: "project_unavailable",
    });
    renameSync(project, join(base, "moved"));
    symlinkSync(outside, project);
    expect(await registry.lookup(p!.id)).toMatchObject({ ok: false, code: "project_unavailable" });
  });

  it("reports dirty and branch changes on refresh", async () => {
    const project = repo(join(tmp(), "proj"));
    const registry = new ProjectRegistry("dev", { projects: [project], projectsRoot: null });
    await registry.scan();
    expect(await registry.refresh()).toBe(false);
    writeFileSync(join(project, "new.txt"), "x");
    expect(await registry.refresh()).toBe(true);
    expect(registry.list()[0]!.dirty).toBe(true);
  });
});

describe("task workspaces", () => {
  it("gives each task its own worktree and branch, reuses it for follow-ups, leaves the checkout clean", async () => {
    const home = tmp();
    const project = repo(join(tmp(), "proj"));
    const work = new LocalWork({
      deviceId: "dev",
      settings: { projects: [project], projectsRoot: null },
      homeDir: home,
      userEnv: { HOME: home },
    });
    const [p] = await work.projects.scan();
    const [t1, t2] = [randomUUID(), randomUUID()];
    const acquire = (taskId: string) =>
      work.workspaces.acquire({ taskId, projectId: p!.id, resumeSessionId: null }, never);
    const [w1, w2] = await Promise.all([acquire(t1), acquire(t2)]);
    if (!w1.ok || !w2.ok) throw new Error("no workspace");
    expect(w1.workspace.dir).not.toBe(w2.workspace.dir);
    expect(w1.workspace.branch).toBe(`wegent/${t1.slice(0, 8)}`);
    writeFileSync(join(w1.workspace.dir, "same.txt"), "one");
    writeFileSync(join(w2.workspace.dir, "same.txt"), "two");
    const status = execFileSync("git", ["status", "--porcelain"], {
      cwd: project,
      encoding: "utf8",
    });
    expect(status).toBe("");
    const again = await work.workspaces.acquire(
      { taskId: t1, projectId: p!.id, resumeSessionId: null },
      never,
    );
    expect(again.ok && again.workspace.dir).toBe(w1.workspace.dir);
  });

  it("runs non-git projects in place, one task at a time", async () => {
    const dir = tmp();
    const work = new LocalWork({
      deviceId: "dev",
      settings: { projects: [dir], projectsRoot: null },
      homeDir: tmp(),
      userEnv: { HOME: tmp() },
    });
    const [p] = await work.projects.scan();
    expect(p!.git).toBe(false);
    const first = await work.workspaces.acquire(
      { taskId: randomUUID(), projectId: p!.id, resumeSessionId: null },
      never,
    );
    if (!first.ok) throw new Error("refused");
    expect(first.workspace.dir).toBe(p!.path);
    let second: Awaited<ReturnType<typeof work.workspaces.acquire>> | null = null;
    void work.workspaces
      .acquire({ taskId: randomUUID(), projectId: p!.id, resumeSessionId: null }, never)
      .then((r) => (second = r));
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBeNull();
    first.workspace.release();
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toMatchObject({ ok: true });
  });
});

describe("local sessions", () => {
  it("lists sessions of a project and reads a transcript through the device RPC", async () => {
    const home = tmp();
    const project = repo(join(tmp(), "proj"));
    const work = new LocalWork({
      deviceId: "dev",
      settings: { projects: [project], projectsRoot: null },
      homeDir: tmp(),
      userEnv: { HOME: home },
    });
    const [p] = await work.projects.scan();
    const dir = sessionDir(join(home, ".claude"), p!.path);
    mkdirSync(dir, { recursive: true });
    const id = randomUUID();
    writeFileSync(
      join(dir, `${id}.jsonl`),
      [
        { type: "user", message: { role: "user", content: "fix the login bug" }, timestamp: "t1" },
        {
          type: "assistant",
          message: { id: "m1", role: "assistant", content: [{ type: "text", text: "Done." }] },
        },
        { type: "user", isSidechain: true, message: { role: "user", content: "side" } },
      ]
        .map((l) => JSON.stringify(l))
        .join("\n") + "\n{partial",
    );
    const handlers = work.handlers();
    const list = await answerDeviceRequest(
      {
        type: "device:request",
        requestId: randomUUID(),
        method: "sessions.list",
        params: { projectId: p!.id },
      },
      handlers,
    );
    expect(list).toMatchObject({
      ok: true,
      result: { sessions: [{ id, projectId: p!.id, title: "fix the login bug", messageCount: 2 }] },
    });
    const one = await answerDeviceRequest(
      {
        type: "device:request",
        requestId: randomUUID(),
        method: "sessions.get",
        params: { sessionId: id },
      },
      handlers,
    );
    expect(one).toMatchObject({
      ok: true,
      result: { messages: [{ role: "user" }, { role: "assistant", text: "Done." }] },
    });
    const missing = await answerDeviceRequest(
      {
        type: "device:request",
        requestId: randomUUID(),
        method: "sessions.get",
        params: { sessionId: "../../etc/passwd" },
      },
      handlers,
    );
    expect(missing).toMatchObject({ ok: false, error: { code: "invalid_params" } });
    const unknown = await answerDeviceRequest(
      { type: "device:request", requestId: randomUUID(), method: "nope", params: {} },
      handlers,
    );
    expect(unknown).toMatchObject({ ok: false, error: { code: "unknown_method" } });
    expect(parseTranscript("").title).toBe("(untitled session)");
  });
});

describe("the user's environment", () => {
  it("captures a login shell's environment without executor secrets", async () => {
    const dir = tmp();
    const shell = join(dir, "fake-shell");
    writeFileSync(
      shell,
      `#!/bin/sh\necho "welcome banner"\nexport FROM_PROFILE=yes WEGENT_TOKEN=leak\neval "$4"\n`,
    );
    chmodSync(shell, 0o755);
    const captured = await captureLoginEnvironment(
      { HOME: dir, PATH: process.env.PATH, WEGENT_TOKEN: "secret", WEGENT_DEVICE_ID: "x" },
      { shell },
    );
    expect(captured.source).toContain("login shell");
    expect(captured.env.FROM_PROFILE).toBe("yes");
    expect(captured.env.HOME).toBe(dir);
    expect(Object.keys(captured.env).filter((k) => k.startsWith("WEGENT_"))).toEqual([]);
    expect(localAgentEnvironment(captured.env, "app").CLAUDE_AGENT_SDK_CLIENT_APP).toBe("app");
  });

  it("keeps the executor's own OTEL_* (its OTLP key) out of the agent's environment", async () => {
    const dir = tmp();
    const shell = join(dir, "fake-shell");
    // What the owner's shell sets itself still reaches the agent.
    writeFileSync(shell, `#!/bin/sh\nexport OTEL_RESOURCE_ATTRIBUTES=team=mine\neval "$4"\n`);
    chmodSync(shell, 0o755);
    const executorEnv = {
      HOME: dir,
      PATH: process.env.PATH,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20otlp-key",
    };
    const captured = await captureLoginEnvironment(executorEnv, { shell });
    expect(captured.source).toContain("login shell");
    const agent = localAgentEnvironment(captured.env, "app");
    expect(Object.keys(agent).filter((k) => k.startsWith("OTEL_"))).toEqual([
      "OTEL_RESOURCE_ATTRIBUTES",
    ]);
    expect(JSON.stringify(agent)).not.toContain("otlp-key");
    // No shell: the fallback (the executor's own environment) drops them too.
    const fallback = await captureLoginEnvironment(executorEnv, { shell: join(dir, "none") });
    expect(fallback.source).toContain("own environment");
    expect(Object.keys(fallback.env).filter((k) => k.startsWith("OTEL_"))).toEqual([]);
  });

  it("falls back to the executor's own environment when the shell hangs", async () => {
    const dir = tmp();
    const shell = join(dir, "slow-shell");
    writeFileSync(shell, "#!/bin/sh\nsleep 10\n");
    chmodSync(shell, 0o755);
    const started = Date.now();
    const captured = await captureLoginEnvironment(
      { HOME: dir, OWN: "1", WEGENT_TOKEN: "secret" },
      { shell, timeoutMs: 300 },
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(captured.source).toContain("own environment");
    expect(captured.env).toEqual({ HOME: dir, OWN: "1" });
    expect(parseEnvOutput("noise only")).toBeNull();
  });

  it("accepts an API key or a Claude Code login, and says which", () => {
    const home = tmp();
    expect(findCredentials({ HOME: home })).toBeNull();
    expect(findCredentials({ HOME: home, ANTHROPIC_API_KEY: "k" })).toMatchObject({
      kind: "api_key",
    });
    mkdirSync(join(home, ".claude"));
    writeFileSync(
      join(home, ".claude", ".credentials.json"),
      JSON.stringify({ claudeAiOauth: { accessToken: "tok", subscriptionType: "max" } }),
    );
    expect(findCredentials({ HOME: home })).toMatchObject({
      kind: "login",
      label: "Claude Code login (Max)",
    });
  });
});

describe("transcript caps", () => {
  it("counts a reply's steps (tool output, diffs) against the byte cap", () => {
    const output = "x".repeat(60_000);
    const reply = (i: number): TranscriptEntry => ({
      role: "assistant",
      text: `reply ${i}`,
      at: null,
      blocks: [
        { type: "tool_use", toolUseId: `c${i}`, name: "Bash", input: { command: "cat big" } },
        { type: "tool_result", toolUseId: `c${i}`, summary: output, isError: false },
        { type: "text", text: `reply ${i}` },
      ],
    });
    const entries = Array.from({ length: 10 }, (_, i) => reply(i));
    const { messages, truncated } = capTranscript(entries);
    expect(truncated).toBe(true);
    // 256 KiB holds four replies of ~60 KB steps each, the newest.
    expect(messages.map((m) => m.text)).toEqual(["reply 6", "reply 7", "reply 8", "reply 9"]);
    expect(Buffer.byteLength(JSON.stringify(messages))).toBeLessThanOrEqual(
      MAX_TRANSCRIPT_BYTES + 1024,
    );
    // One reply larger than the whole cap alone: kept, its steps bounded.
    const huge = {
      ...reply(0),
      blocks: reply(0).blocks!.map((b) =>
        b.type === "tool_result" ? { ...b, summary: "y".repeat(400_000) } : b,
      ),
    };
    const alone = capTranscript([huge]);
    expect(alone.messages).toHaveLength(1);
    expect(Buffer.byteLength(JSON.stringify(alone.messages))).toBeLessThanOrEqual(
      MAX_TRANSCRIPT_BYTES,
    );
  });

  it("keeps the newest entries within the byte cap, counting JSON escapes", async () => {
    const home = tmp();
    const project = repo(join(tmp(), "proj"));
    const work = new LocalWork({
      deviceId: "dev",
      settings: { projects: [project], projectsRoot: null },
      homeDir: tmp(),
      userEnv: { HOME: home },
    });
    const [p] = await work.projects.scan();
    const dir = sessionDir(join(home, ".claude"), p!.path);
    mkdirSync(dir, { recursive: true });
    const id = randomUUID();
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        type: i % 2 === 0 ? "user" : "assistant",
        message: { id: `m${i}`, role: "x", content: `${i}:` + "\u0001".repeat(20_000) },
      }),
    );
    writeFileSync(join(dir, `${id}.jsonl`), lines.join("\n"));
    const answer = await answerDeviceRequest(
      {
        type: "device:request",
        requestId: randomUUID(),
        method: "sessions.get",
        params: { sessionId: id },
      },
      work.handlers(),
    );
    expect(answer.ok).toBe(true);
    const result = answer.result as { messages: { text: string }[]; truncated: boolean };
    expect(result.truncated).toBe(true);
    expect(result.messages.at(-1)!.text.startsWith("39:")).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(answer))).toBeLessThan(1024 * 1024);
  });
});

describe("project refresh", () => {
  it("finds a repository cloned under the root after start, and forgets a removed one", async () => {
    const root = tmp();
    repo(join(root, "first"));
    const registry = new ProjectRegistry("dev", { projects: [], projectsRoot: root });
    await registry.scan();
    expect(registry.list().map((p) => p.name)).toEqual(["first"]);
    repo(join(root, "second"));
    expect(await registry.refresh()).toBe(true);
    expect(registry.list().map((p) => p.name)).toEqual(["first", "second"]);
    const gone = registry.list()[0]!;
    rmSync(join(root, "first"), { recursive: true, force: true });
    expect(await registry.refresh()).toBe(true);
    expect(await registry.lookup(gone.id)).toMatchObject({ ok: false });
  });
});
