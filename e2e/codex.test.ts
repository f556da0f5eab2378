// Codex end to end: a real platform (wrangler dev), a real wegent-executor with `--codex` (the
// @openai/codex devDependency) whose Codex reaches the fake Responses API on loopback through
// CODEX_HOME, a task with runtime "codex": the reply, a follow-up that resumes the thread, and
// the device's runtimes. A device without Codex refuses runtime "codex" with 409.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device, LocalSession, TaskWithMessages, TranscriptEntry } from "@wegent/protocol";
import { type FakeResponses, startFakeResponses } from "./fake-model/responses";
import { taskCodexHome } from "../executor/src/runtime/codex/home";
import { startExecutor, until } from "./harness";
import { scene } from "./scene";

const s = scene("e2e_codex");
const CODEX = join(import.meta.dirname, "../node_modules/.bin/codex");
let responses: FakeResponses;

beforeAll(async () => {
  responses = await startFakeResponses();
});
afterAll(async () => {
  await responses.close();
});

async function launch(withCodex: boolean) {
  const codexHome = await taskCodexHome(mkdtempSync(join(tmpdir(), "wegent-e2e-codex-")), {
    name: "fake",
    baseUrl: responses.url,
    model: "fake-model",
    envKey: "CODEX_FAKE_KEY",
  });
  const ex = startExecutor({
    origin: s.platform.origin,
    token: s.token,
    modelUrl: s.fake.url,
    ...(withCodex
      ? {
          args: ["--codex", CODEX],
          env: { CODEX_HOME: codexHome, CODEX_FAKE_KEY: "e2e-key" },
        }
      : // No codex anywhere on its PATH.
        { env: { PATH: "/usr/local/bin:/usr/bin:/bin" } }),
  });
  s.executors.push(ex);
  await ex.waitFor("registered");
  return ex;
}

describe("a device running Codex", () => {
  it("runs a task with runtime codex and a follow-up that sees the earlier turn", async () => {
    const ex = await launch(true);
    const device = await until(
      async () =>
        (await s.get<{ devices: Device[] }>("/api/devices")).devices.find(
          (d) => d.id === ex.deviceId && d.runtimes.some((r) => r.id === "codex"),
        ),
      30_000,
      "the device to report Codex",
    );
    expect(device.runtimes.find((r) => r.id === "codex")).toMatchObject({
      version: "0.171.0",
      problem: null,
    });

    const created = await s.post<TaskWithMessages>("/api/tasks", {
      message: "Hello from the platform",
      target: { deviceId: ex.deviceId },
      runtime: "codex",
      permissionMode: "bypassPermissions",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.task.runtime).toBe("codex");
    const taskId = created.body.task.id;
    const first = await s.settled(taskId, 2);
    expect(first.messages[1], JSON.stringify(first.messages[1])).toMatchObject({
      status: "completed",
      content: "Echo: Hello from the platform",
    });

    // A model Codex offers (model/list) is accepted for a Codex task, and reaches the model.
    const codexModel = device.runtimes.find((r) => r.id === "codex")?.models[0]?.value;
    expect(codexModel).toBeTruthy();
    const follow = await s.post<TaskWithMessages>(`/api/tasks/${taskId}/messages`, {
      message: "recall please",
      model: codexModel,
    });
    expect(follow.status, JSON.stringify(follow.body)).toBe(201);
    const second = await s.settled(taskId, 4);
    expect(second.task.runtime).toBe("codex");
    expect(second.messages[3]?.content).toContain("Hello from the platform");
    expect(responses.requests.length).toBeGreaterThanOrEqual(2);
    expect(responses.requests.at(-1)?.model).toBe(codexModel);
  }, 180_000);

  it("a device without Codex refuses runtime codex with 409 runtime_unavailable", async () => {
    const ex = await launch(false);
    await until(
      async () =>
        (await s.get<{ devices: Device[] }>("/api/devices")).devices.find(
          (d) => d.id === ex.deviceId && d.runtimes.length > 0,
        ),
      30_000,
      "the device's runtimes",
    );
    const refused = await s.post<{ error: { code: string; message: string } }>("/api/tasks", {
      message: "Hello",
      target: { deviceId: ex.deviceId },
      runtime: "codex",
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("runtime_unavailable");
    expect(refused.body.error.message).toContain("Claude Code");
  }, 120_000);

  it("shows a Codex thread made by codex exec under On this device, reads it, and continues it in its folder", async () => {
    const home = mkdtempSync(join(tmpdir(), "wegent-e2e-codex-thread-"));
    const codexHome = await taskCodexHome(home, {
      name: "fake",
      baseUrl: responses.url,
      model: "fake-model",
      envKey: "CODEX_FAKE_KEY",
    });
    // A git checkout where the owner ran `codex exec` before the executor started.
    const checkout = realpathSync(mkdtempSync(join(tmpdir(), "wegent-e2e-codex-checkout-")));
    const git = (...args: string[]) => execFileSync("git", args, { cwd: checkout });
    git("init", "-q", "-b", "main");
    writeFileSync(join(checkout, "README.md"), "hi\n");
    git("add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init");
    const tmp = join(home, "tmp");
    mkdirSync(tmp);
    const env = {
      ...process.env,
      HOME: home,
      TMPDIR: tmp,
      CODEX_HOME: codexHome,
      CODEX_FAKE_KEY: "k",
    };
    const exec = execFile(CODEX, ["exec", "Remember the word tangerine"], { cwd: checkout, env });
    exec.stdin?.end();
    expect(await new Promise((resolve) => exec.once("exit", resolve))).toBe(0);

    const ex = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      args: ["--codex", CODEX, "--project", checkout],
      env: { CODEX_HOME: codexHome, CODEX_FAKE_KEY: "e2e-key" },
    });
    s.executors.push(ex);
    await ex.waitFor("registered");
    const device = await until(
      async () =>
        (await s.get<{ devices: Device[] }>("/api/devices")).devices.find(
          (d) => d.id === ex.deviceId && d.projects.length > 0,
        ),
      30_000,
      "the device's project",
    );
    const project = device.projects.find((p) => p.path === checkout)!;
    const { sessions } = await s.get<{ sessions: LocalSession[] }>(
      `/api/devices/${ex.deviceId}/sessions`,
    );
    const thread = sessions.find((x) => x.runtime === "codex");
    expect(thread).toMatchObject({ projectId: project.id, title: "Remember the word tangerine" });
    const read = await s.get<{ messages: TranscriptEntry[] }>(
      `/api/devices/${ex.deviceId}/sessions/${thread!.id}`,
    );
    expect(read.messages.map((m) => [m.role, m.text])).toEqual([
      ["user", "Remember the word tangerine"],
      ["assistant", "Echo: Remember the word tangerine"],
    ]);

    // Continue: on Codex, in the checkout itself (not a worktree), seeing the earlier turn.
    const continued = await s.post<TaskWithMessages>("/api/tasks", {
      message: "recall please",
      target: { deviceId: ex.deviceId, projectId: project.id },
      continueSessionId: thread!.id,
      permissionMode: "bypassPermissions",
    });
    expect(continued.status, JSON.stringify(continued.body)).toBe(201);
    expect(continued.body.task).toMatchObject({ runtime: "codex", branch: "main" });
    const taskId = continued.body.task.id;
    const first = await s.settled(taskId, 2);
    expect(first.messages[1]?.content).toContain("Remember the word tangerine");
    await s.post(`/api/tasks/${taskId}/messages`, { message: "run: pwd" });
    const second = await s.settled(taskId, 4);
    expect(second.messages[3]?.status).toBe("completed");
    expect(second.messages[3]?.content).toContain(checkout);

    // Read again through the Worker: the thread's `pwd` is a Bash step with its output, and the
    // listing counts the entries reading it shows.
    const again = await s.get<{ messages: TranscriptEntry[] }>(
      `/api/devices/${ex.deviceId}/sessions/${thread!.id}`,
    );
    const steps = again.messages.flatMap((m) => m.blocks ?? []);
    const call = steps.find((b) => b.type === "tool_use" && b.name === "Bash");
    expect(call?.type === "tool_use" && JSON.stringify(call.input)).toContain("pwd");
    const output = steps.find((b) => b.type === "tool_result");
    expect(output).toMatchObject({ isError: false, summary: expect.stringContaining(checkout) });
    const listed = await s.get<{ sessions: LocalSession[] }>(
      `/api/devices/${ex.deviceId}/sessions`,
    );
    expect(listed.sessions.find((x) => x.id === thread!.id)?.messageCount).toBe(
      again.messages.length,
    );
  }, 180_000);
});
