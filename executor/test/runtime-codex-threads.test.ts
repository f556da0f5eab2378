// "On this device" lists Codex threads beside Claude sessions: a thread made by `codex exec`
// (the real binary, against the fake Responses API) before anything of ours started is
// listed with runtime "codex" in its project, and not in another.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Project } from "@wegent/protocol";
import { type FakeResponses, startFakeResponses } from "../../e2e/fake-model/responses";
import { taskCodexHome } from "../src/runtime/codex/home";
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
});
