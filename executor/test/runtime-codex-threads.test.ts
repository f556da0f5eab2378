// "On this device" lists Codex threads beside Claude sessions: a thread made by `codex exec`
// (the real binary, against the fake Responses API) before anything of ours started is
// listed with runtime "codex" in its project, and not in another.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEVICE_METHODS, type Project } from "@wegent/protocol";
import { type FakeResponses, startFakeResponses } from "../../e2e/fake-model/responses";
import { taskCodexHome } from "../src/runtime/codex/home";
import { LocalWork } from "../src/local/local-work";
import { codexThreadLister } from "../src/runtime/registry";
import { listCodexThreads } from "../src/runtime/codex/threads";
import { readCodexThread } from "../src/runtime/codex/transcript";
import { type TaskDirs, taskDirs } from "./runtime-helpers";

const CODEX = join(import.meta.dirname, "../../node_modules/.bin/codex");
let fake: FakeResponses;
let d: TaskDirs;

beforeAll(async () => {
  fake = await startFakeResponses();
  d = taskDirs();
});
afterAll(async () => {
  await fake.close();
  d.remove();
});

function project(id: string, path: string): Project {
  return { id, name: id, path, git: false, branch: null, dirty: false };
}

/** `codex exec` (the real binary) in `cwd`, stdin closed; resolves with its exit code. */
async function codexExec(args: string[], cwd: string, env: Record<string, string | undefined>) {
  // stdin closed: `codex exec` would wait for more prompt on an open pipe.
  const child = execFile(CODEX, ["exec", "--skip-git-repo-check", ...args], {
    cwd,
    env,
    timeout: 60_000,
  });
  child.stdin?.end();
  return new Promise((resolve) => child.once("exit", resolve));
}

describe("Codex threads on this device", () => {
  it("lists a thread made by codex exec in its project, with runtime codex", async () => {
    const codexHome = await taskCodexHome(d.homeDir, {
      name: "fake",
      baseUrl: fake.url,
      model: "fake-model",
      envKey: "FAKE_OPENAI_KEY",
    });
    const env = {
      PATH: process.env.PATH,
      HOME: d.homeDir,
      TMPDIR: d.tmpDir,
      CODEX_HOME: codexHome,
      FAKE_OPENAI_KEY: "test-key",
    };
    const mine = join(d.root, "mine");
    const other = join(d.root, "other");
    mkdirSync(mine);
    mkdirSync(other);
    // stdin closed: `codex exec` would wait for more prompt on an open pipe.
    const child = execFile(CODEX, ["exec", "--skip-git-repo-check", "Hello from codex exec"], {
      cwd: mine,
      env,
      timeout: 60_000,
    });
    child.stdin?.end();
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(fake.requests.length).toBeGreaterThan(0);

    const listed = await listCodexThreads(CODEX, env, [project("p-mine", mine)], 30_000);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      projectId: "p-mine",
      runtime: "codex",
      title: "Hello from codex exec",
      messageCount: 2,
    });
    expect(listed[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await listCodexThreads(CODEX, env, [project("p-other", other)], 30_000)).toEqual([]);

    // Reading it: its messages, oldest first; not from another project; unknown ids are null.
    const id = listed[0]!.id;
    const read = await readCodexThread(CODEX, env, [project("p-mine", mine)], id, 30_000);
    expect(read?.session).toMatchObject({ id, projectId: "p-mine", runtime: "codex" });
    expect(read?.entries.map((e) => [e.role, e.text])).toEqual([
      ["user", "Hello from codex exec"],
      ["assistant", "Echo: Hello from codex exec"],
    ]);
    expect(read?.entries[0]?.at).toMatch(/^\d{4}-/);
    expect(await readCodexThread(CODEX, env, [project("p-other", other)], id, 30_000)).toBeNull();
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect(
      await readCodexThread(CODEX, env, [project("p-mine", mine)], unknown, 30_000),
    ).toBeNull();
  }, 90_000);

  it("reads a thread's commands with their output and its file change with the diff, counted", async () => {
    const home = join(d.root, "home2");
    mkdirSync(home);
    const codexHome = await taskCodexHome(home, {
      name: "fake",
      baseUrl: fake.url,
      model: "fake-model",
      envKey: "FAKE_OPENAI_KEY",
    });
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: d.tmpDir,
      CODEX_HOME: codexHome,
      FAKE_OPENAI_KEY: "test-key",
    };
    const dir = join(d.root, "tools");
    mkdirSync(dir);
    // A shell command, then (resuming the same thread) a patch that adds a file.
    const full = ["--dangerously-bypass-approvals-and-sandbox"];
    expect(await codexExec([...full, "run: echo hello-from-shell"], dir, env)).toBe(0);
    expect(
      await codexExec([...full, "resume", "--last", "patch: notes.txt: first line"], dir, env),
    ).toBe(0);

    // Through the executor's own answer to sessions.get and sessions.list (local mode).
    const work = new LocalWork({
      deviceId: "dev",
      settings: { projects: [dir], projectsRoot: null },
      homeDir: join(d.root, "executor-home"),
      userEnv: { HOME: home },
      otherSessions: codexThreadLister({ executable: CODEX, userEnv: env })!,
    });
    const [p] = await work.projects.scan();
    const handlers = work.handlers();
    const list = DEVICE_METHODS["sessions.list"].result.parse(
      await handlers["sessions.list"]!({ projectId: null }),
    );
    expect(list.sessions).toHaveLength(1);
    const listed = list.sessions[0]!;
    expect(listed).toMatchObject({ runtime: "codex", projectId: p!.id, messageCount: 4 });

    const read = DEVICE_METHODS["sessions.get"].result.parse(
      await handlers["sessions.get"]!({ sessionId: listed.id }),
    );
    expect(read.session.messageCount).toBe(4);
    expect(read.truncated).toBe(false);
    expect(read.messages.map((m) => [m.role, m.blocks?.map((b) => b.type) ?? null])).toEqual([
      ["user", null],
      ["assistant", ["tool_use", "tool_result", "text"]],
      ["user", null],
      ["assistant", ["tool_use", "tool_result", "text"]],
    ]);
    const [, shell, , patch] = read.messages;
    expect(shell!.blocks![0]).toMatchObject({
      type: "tool_use",
      name: "Bash",
      input: { command: expect.stringContaining("echo hello-from-shell") },
    });
    expect(shell!.blocks![1]).toMatchObject({
      type: "tool_result",
      summary: "hello-from-shell\n",
      isError: false,
    });
    // The reply's text is the concatenation of its text blocks (the web's transcript rule).
    expect(shell!.text).toBe(shell!.blocks![2]!.type === "text" ? shell!.blocks![2]!.text : "");
    expect(shell!.text).toMatch(/^Tool said: /);
    expect(patch!.blocks![0]).toMatchObject({
      type: "tool_use",
      name: "apply_patch",
      input: { changes: [{ path: join(dir, "notes.txt"), kind: "add", diff: "first line\n" }] },
    });
    expect(patch!.blocks![1]).toMatchObject({
      type: "tool_result",
      summary: `Changed:\n${join(dir, "notes.txt")}`,
      isError: false,
    });
  }, 120_000);
});
