// The command RPC end to end: a real platform, a real wegent-executor with owner keys in its
// device-config.json, real Claude Code editing two files against the fake model, real git.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CommandAuditPage,
  type CommandResult,
  RuntimeInfo,
  type TaskWithMessages,
  WorkspaceDiff,
  WorkspaceStatus,
} from "@wegent/protocol";
import { type FakeModel, startFakeModel, text, toolUse } from "./fake-model/server";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  type Session,
  signUp,
  startExecutor,
  startPlatform,
  until,
} from "./harness";

let platform: Platform;
let fake: FakeModel;
let user: Session;
let ex: ExecutorProcess;
let home: string;
let project: string;

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" });
const deviceId = `e2ecmd${process.pid}x${Date.now().toString(16)}`;

beforeAll(async () => {
  platform = await startPlatform();
  fake = await startFakeModel();
  user = await signUp(platform.origin, "e2e_commands");
  const { token } = await createToken(platform.origin, user);
  // The executor's home with the owner's command keys, before it starts.
  home = mkdtempSync(join(tmpdir(), "wegent-cmd-"));
  writeFileSync(join(home, "device_id"), `${deviceId}\n`);
  // Owner keys may run only inside a project or the task workspaces.
  const scratch = join(home, "workspaces", "owner-scratch");
  mkdirSync(scratch, { recursive: true });
  writeFileSync(
    join(home, "device-config.json"),
    JSON.stringify({
      commands: {
        echo: { argv: ["echo"], cwd: scratch },
        outside: { argv: ["pwd"], cwd: home },
        sleeper: {
          argv: ["sh", "-c", "sleep 40 & echo $! > sleeper.pid; sleep 40"],
          cwd: scratch,
          timeoutSec: 1,
        },
        flood: { argv: ["head", "-c", "200000", "/dev/zero"], cwd: scratch, maxOutputBytes: 1024 },
      },
    }),
  );
  // A project (a real git repository) tasks may work in, each in its own worktree.
  project = mkdtempSync(join(tmpdir(), "wegent-cmd-project-"));
  git(project, "init", "-q", "-b", "main");
  writeFileSync(join(project, "a.txt"), "one\ntwo\nthree\n");
  git(project, "add", "-A");
  git(project, "-c", "user.email=u@e", "-c", "user.name=u", "commit", "-qm", "base");
  ex = startExecutor({
    origin: platform.origin,
    token,
    modelUrl: fake.url,
    deviceId,
    args: ["--project", project],
    env: { WEGENT_EXECUTOR_HOME: home },
  });
  await ex.waitFor("registered");
}, 180_000);

afterAll(async () => {
  await ex?.stop("SIGKILL");
  await fake?.close();
  await platform?.stop();
});

const command = (body: unknown) =>
  api<CommandResult>(platform.origin, "POST", `/api/devices/${deviceId}/commands`, {
    cookie: user.cookie,
    body,
  });

async function json<T>(body: unknown, parse: (v: unknown) => T): Promise<T> {
  const res = await command(body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.exitCode).toBe(0);
  return parse(JSON.parse(res.body.stdout));
}

describe("commands on a real device", () => {
  it("shows the diff of a task whose agent wrote two files, and reverts one", async () => {
    const prompt = "Write the app and the notes";
    // The first turn gives us time to learn the task's workspace path for the Write calls.
    fake.on(prompt, [{ blocks: [toolUse("Bash", { command: "sleep 3", description: "think" })] }]);
    const created = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: prompt },
    });
    expect(created.status).toBe(201);
    const taskId = created.body.task.id;
    const dir = join(home, "workspaces", taskId);
    fake.reset();
    fake.on(prompt, [
      { blocks: [toolUse("Bash", { command: "sleep 3", description: "think" })] },
      {
        blocks: [
          toolUse("Write", {
            file_path: join(dir, "app.py"),
            content: "def hello():\n    return 'hi'\n",
          }),
        ],
      },
      { blocks: [toolUse("Write", { file_path: join(dir, "notes.md"), content: "# Notes\n" })] },
      { blocks: [text("Wrote app.py and notes.md.")] },
    ]);
    await until(
      async () => {
        const d = await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${taskId}`, {
          cookie: user.cookie,
        });
        return ["completed", "failed"].includes(d.body.task.status) ? d.body : undefined;
      },
      90_000,
      "the task to end",
    );
    expect(readFileSync(join(dir, "app.py"), "utf8")).toContain("def hello");

    const diff = await json({ key: "workspace.diff", taskId }, (v) => WorkspaceDiff.parse(v));
    expect(diff.git).toBe(false);
    expect(diff.files).toEqual([
      { path: "app.py", status: "added", oldPath: null, added: 2, removed: 0 },
      { path: "notes.md", status: "added", oldPath: null, added: 1, removed: 0 },
    ]);
    expect(diff.diff).toContain("+def hello():");
    expect(diff.diff).toContain("+# Notes");

    const revert = await command({ key: "workspace.revert", args: { path: "notes.md" }, taskId });
    expect(JSON.parse(revert.body.stdout)).toEqual({ path: "notes.md", action: "removed" });
    expect(existsSync(join(dir, "notes.md"))).toBe(false);
    const status = await json({ key: "workspace.status", taskId }, (v) => WorkspaceStatus.parse(v));
    expect(status.files.map((f) => f.path)).toEqual(["app.py"]);
    // A path out of the workspace is refused by the platform before it reaches the device.
    const escape = await command({ key: "workspace.file", args: { path: "../x" }, taskId });
    expect(escape.status).toBe(400);
  });

  it("shows what the agent changed in a project's worktree, even after it committed", async () => {
    const device = await api<{ device: { projects: { id: string }[] } }>(
      platform.origin,
      "GET",
      `/api/devices/${deviceId}`,
      { cookie: user.cookie },
    );
    const projectId = device.body.device.projects[0]?.id ?? "";
    const prompt = "Edit a.txt and add new.md";
    fake.on(prompt, [{ blocks: [toolUse("Bash", { command: "sleep 3", description: "think" })] }]);
    const created = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: prompt, target: { deviceId, projectId } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const taskId = created.body.task.id;
    const tree = join(home, "worktrees", projectId, taskId.slice(0, 8));
    fake.reset();
    fake.on(prompt, [
      { blocks: [toolUse("Bash", { command: "sleep 3", description: "think" })] },
      { blocks: [toolUse("Read", { file_path: join(tree, "a.txt") })] },
      {
        blocks: [
          toolUse("Edit", { file_path: join(tree, "a.txt"), old_string: "two", new_string: "TWO" }),
        ],
      },
      { blocks: [toolUse("Write", { file_path: join(tree, "new.md"), content: "# New\n" })] },
      {
        blocks: [
          toolUse("Bash", {
            command: "git add -A && git -c user.email=a@e -c user.name=a commit -qm agent",
            description: "commit",
          }),
        ],
      },
      { blocks: [text("Edited and committed.")] },
    ]);
    const done = await until(
      async () => {
        const d = await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${taskId}`, {
          cookie: user.cookie,
        });
        return ["completed", "failed"].includes(d.body.task.status) ? d.body : undefined;
      },
      90_000,
      "the project task to end",
    );
    expect(done.task.status).toBe("completed");
    expect(readFileSync(join(tree, "a.txt"), "utf8")).toBe("one\nTWO\nthree\n");
    const diff = await json({ key: "workspace.diff", taskId }, (v) => WorkspaceDiff.parse(v));
    expect(diff.git).toBe(true);
    expect(diff.files).toEqual([
      { path: "a.txt", status: "modified", oldPath: null, added: 1, removed: 1 },
      { path: "new.md", status: "added", oldPath: null, added: 1, removed: 0 },
    ]);
    expect(diff.diff).toContain("-two\n+TWO");
    // The user's own checkout is untouched.
    expect(git(project, "status", "--porcelain")).toBe("");
    expect(readFileSync(join(project, "a.txt"), "utf8")).toBe("one\ntwo\nthree\n");
    const revert = await command({ key: "workspace.revert", args: { path: "a.txt" }, taskId });
    expect(JSON.parse(revert.body.stdout)).toEqual({ path: "a.txt", action: "restored" });
    expect(readFileSync(join(tree, "a.txt"), "utf8")).toBe("one\ntwo\nthree\n");
  });

  it("runs owner keys with argv only, kills on timeout, caps output", async () => {
    const echo = await command({ key: "echo", args: { argv: ["hello; echo hacked", "$(id)"] } });
    expect(echo.status).toBe(200);
    expect(echo.body.stdout).toBe("hello; echo hacked $(id)\n");

    const started = Date.now();
    const sleeper = await command({ key: "sleeper" });
    expect(sleeper.status).toBe(200);
    expect(sleeper.body).toMatchObject({ timedOut: true, exitCode: null });
    expect(Date.now() - started).toBeLessThan(8000);
    const childPid = Number(
      readFileSync(join(home, "workspaces", "owner-scratch", "sleeper.pid"), "utf8"),
    );
    await until(
      () => {
        try {
          const stat = readFileSync(`/proc/${childPid}/stat`, "utf8");
          return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
        } catch {
          return true;
        }
      },
      3000,
      "the sleeper's child to die",
    );

    const flood = await command({ key: "flood" });
    expect(flood.status, JSON.stringify(flood.body)).toBe(200);
    expect(flood.body.stdout.length).toBe(1024);
    expect(flood.body.truncated).toBe(true);

    // A working directory outside the projects and task workspaces is refused by the executor.
    const outside = await command({ key: "outside" });
    expect(outside.status).toBe(400);
    expect((outside.body as unknown as { error: { code: string } }).error.code).toBe(
      "path_outside",
    );

    const unknown = await command({ key: "deploy" });
    expect(unknown.status).toBe(400);
    expect((unknown.body as unknown as { error: { code: string } }).error.code).toBe(
      "command_unknown",
    );

    const info = await json({ key: "runtime.info" }, (v) => RuntimeInfo.parse(v));
    expect(info.node).toMatch(/^v\d+/);
    expect(info.git).toMatch(/^git version/);
    expect(info.claudeCode).toMatch(/\d+\.\d+/);
  });

  it("lists each call in the audit, and only for its owner", async () => {
    const audit = await api<CommandAuditPage>(
      platform.origin,
      "GET",
      `/api/devices/${deviceId}/audit?limit=100`,
      { cookie: user.cookie },
    );
    expect(audit.status).toBe(200);
    const keys = audit.body.entries.map((e) => e.key).reverse();
    // Refused by the platform (bad args, unknown key) never reached the device: not listed.
    expect(keys).toEqual([
      "workspace.diff",
      "workspace.revert",
      "workspace.status",
      "workspace.diff",
      "workspace.revert",
      "echo",
      "sleeper",
      "flood",
      "outside",
      "runtime.info",
    ]);
    const sleeper = audit.body.entries.find((e) => e.key === "sleeper");
    expect(sleeper).toMatchObject({ outcome: "ok", exitCode: null });
    expect(audit.body.entries.every((e) => e.userId === user.userId)).toBe(true);
    const other = await signUp(platform.origin, "e2e_commands_other");
    const foreign = await api(platform.origin, "GET", `/api/devices/${deviceId}/audit`, {
      cookie: other.cookie,
    });
    expect(foreign.status).toBe(404);
    const run = await api(platform.origin, "POST", `/api/devices/${deviceId}/commands`, {
      cookie: other.cookie,
      body: { key: "runtime.info" },
    });
    expect(run.status).toBe(404);
  });
});
