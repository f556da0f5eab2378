import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { answerDeviceRequest } from "../src/connection/device-rpc";
import { silentLogger } from "../src/log";
import { forgetTask } from "../src/workspace/forget";
import { cleanup } from "../src/workspace/cleanup";
import { claudeProjectName, TaskWorkspaces, type WorkspaceRoots } from "../src/workspace/places";
import { hasSnapshot, snapshotRef, snapshotTask } from "../src/workspace/snapshot";
import { WorkspaceService } from "../src/workspace/service";
import { sh } from "./git-helpers";

// A deleted task (`workspace.forget`): what the device keeps of it goes — its worktree (never
// its branch), its snapshot (pack, record, hidden ref), its folders and session — and the
// project's own checkout stays as it was. Real git repositories made here.

const TASK = "abcdef12-3333-4444-8555-666666666666";
const SHORT = TASK.slice(0, 8);
const SCRATCH = "0ddba11a-3333-4444-8555-666666666666";
const IN_PLACE = "1ee7c0de-3333-4444-8555-666666666666";

function machine() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "wegent-forget-")));
  const project = join(root, "project");
  mkdirSync(project);
  sh(project, "init", "-q", "-b", "main");
  writeFileSync(join(project, "a.txt"), "original\n");
  sh(project, "add", "-A");
  sh(project, "commit", "-q", "-m", "start");
  // The owner's own uncommitted work in the main checkout: never touched.
  writeFileSync(join(project, "a.txt"), "owner edit\n");
  writeFileSync(join(project, "draft.txt"), "the owner's draft\n");
  const roots: WorkspaceRoots = {
    workspaceRoot: join(root, "workspaces"),
    homeDir: join(root, "home"),
    claudeProjectsRoot: join(root, "claude", "projects"),
  };
  const dir = join(roots.homeDir, "worktrees", "p_test", SHORT);
  mkdirSync(join(roots.homeDir, "worktrees", "p_test"), { recursive: true });
  sh(project, "worktree", "add", "-q", "-b", `wegent/${SHORT}`, dir, "HEAD");
  writeFileSync(join(dir, "committed.txt"), "on the branch\n");
  sh(dir, "add", "committed.txt");
  sh(dir, "commit", "-q", "-m", "agent commit");
  writeFileSync(join(dir, "new.txt"), "untracked\n");
  const sessions = join(roots.claudeProjectsRoot!, claudeProjectName(dir));
  mkdirSync(sessions, { recursive: true });
  writeFileSync(join(sessions, "s1.jsonl"), `${JSON.stringify({ type: "user", cwd: dir })}\n`);
  const taskHome = join(roots.homeDir, "tasks", TASK, "tmp");
  mkdirSync(taskHome, { recursive: true });
  const projects = [{ id: "p_test", path: project, git: true }];
  return {
    root,
    project,
    roots,
    dir,
    sessions,
    taskHome: join(roots.homeDir, "tasks", TASK),
    projects,
  };
}

type Machine = ReturnType<typeof machine>;

const checkout = (project: string) => ({
  head: sh(project, "rev-parse", "HEAD"),
  status: sh(project, "status", "--porcelain"),
  a: readFileSync(join(project, "a.txt"), "utf8"),
  draft: readFileSync(join(project, "draft.txt"), "utf8"),
});

function service(m: Machine, running: (taskId: string) => boolean = () => false) {
  return new WorkspaceService({
    ...m.roots,
    backendUrl: "http://127.0.0.1:9",
    deviceId: "d1",
    projects: () => m.projects,
    local: true,
    log: silentLogger,
    running,
    forgetWaitMs: 300,
  }).handlers()["workspace.forget"]!;
}

const hasRef = (m: Machine) => {
  try {
    sh(m.project, "rev-parse", "--verify", "-q", snapshotRef(TASK));
    return true;
  } catch {
    return false;
  }
};
const pack = (m: Machine) => join(m.roots.homeDir, "snapshots", `${TASK}.tar.gz`);
const record = (m: Machine) => join(m.roots.homeDir, "snapshots", `${TASK}.json`);

describe("workspace.forget (a deleted task, executor)", () => {
  it("removes the worktree, the snapshot ref, pack and record, the session and task folders; the branch and the project checkout stay; a later cleanup finds nothing", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const place = { kind: "worktree" as const, dir: m.dir, branch: `wegent/${SHORT}`, base: null };
    await snapshotTask(place, { roots: m.roots, taskId: TASK, deviceId: "d1" }, 1 << 24);
    expect(hasRef(m)).toBe(true);
    expect(existsSync(pack(m))).toBe(true);
    const before = checkout(m.project);
    const branch = sh(m.project, "rev-parse", `wegent/${SHORT}`);

    const outcome = await service(m)({ taskId: TASK });
    expect(outcome).toEqual({
      kind: "forgotten",
      removed: { worktree: true, folder: false, snapshot: true, ref: true, session: true },
    });
    expect(existsSync(m.dir)).toBe(false);
    expect(sh(m.project, "worktree", "list")).not.toContain(SHORT);
    expect(hasRef(m)).toBe(false);
    expect(existsSync(pack(m))).toBe(false);
    expect(existsSync(record(m))).toBe(false);
    expect(await hasSnapshot(m.roots, TASK)).toBe(false);
    expect(existsSync(m.sessions)).toBe(false);
    expect(existsSync(m.taskHome)).toBe(false);
    expect(existsSync(join(m.roots.homeDir, "command-state", TASK))).toBe(false);
    // The task branch keeps the agent's committed work; the owner's checkout is as it was.
    expect(sh(m.project, "rev-parse", `wegent/${SHORT}`)).toBe(branch);
    expect(sh(m.project, "show", `wegent/${SHORT}:committed.txt`)).toBe("on the branch");
    expect(checkout(m.project)).toEqual(before);
    // A later cleanup does not snapshot (or even list) the deleted task again.
    const report = await cleanup(
      m.roots,
      { olderThanHours: 0, dryRun: false, keep: "device" },
      {
        running: () => false,
        archive: () => Promise.reject(new Error("archived a deleted task")),
        snapshot: () => Promise.reject(new Error("snapshotted a deleted task")),
        removed: () => Promise.resolve(),
      },
      Date.now() + 3 * 3600_000,
    );
    expect(report.entries).toEqual([]);
    expect(hasRef(m)).toBe(false);
  }, 60_000);

  it("never follows a link the agent left in place of its worktree: another task's worktree stays", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    // Another task's worktree, with uncommitted work.
    const other = join(m.roots.homeDir, "worktrees", "p_test", "0therta5");
    sh(m.project, "worktree", "add", "-q", "-b", "wegent/0therta5", other, "HEAD");
    writeFileSync(join(other, "precious.txt"), "uncommitted work of another task\n");
    // The agent swaps its own worktree folder for a link to it.
    rmSync(m.dir, { recursive: true, force: true });
    symlinkSync(other, m.dir);
    const outcome = await service(m)({ taskId: TASK });
    expect(outcome).toMatchObject({ kind: "forgotten", removed: { worktree: false } });
    expect(readFileSync(join(other, "precious.txt"), "utf8")).toContain("another task");
    expect(sh(m.project, "worktree", "list")).toContain("0therta5");
    expect(existsSync(m.dir)).toBe(false);
  }, 60_000);

  it("refuses while the task runs (after a short wait), and removes nothing; a run that ends within the wait is forgotten", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const outcome = await service(m, (id) => id === TASK)({ taskId: TASK });
    expect(outcome).toMatchObject({ kind: "error", code: "task_running" });
    expect(readFileSync(join(m.dir, "new.txt"), "utf8")).toBe("untracked\n");
    expect(existsSync(m.sessions)).toBe(true);
    expect(existsSync(join(m.roots.homeDir, "command-state", TASK, "workspace.json"))).toBe(true);
    // A run that ends while the delete waits (its reply was just cancelled): forgotten.
    let runs = true;
    setTimeout(() => (runs = false), 100);
    expect(await service(m, () => runs)({ taskId: TASK })).toMatchObject({ kind: "forgotten" });
    expect(existsSync(m.dir)).toBe(false);
  }, 60_000);

  it("after a cleanup kept only the snapshot: the ref in the offered project, the pack and record go", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    await cleanup(
      m.roots,
      { olderThanHours: 1, dryRun: false, keep: "device" },
      {
        running: () => false,
        archive: () => Promise.reject(new Error("no upload")),
        snapshot: (taskId, place) =>
          snapshotTask(place, { roots: m.roots, taskId, deviceId: "d1" }, 1 << 24),
        removed: () => Promise.resolve(),
      },
      Date.now() + 3 * 3600_000,
    );
    expect(existsSync(m.dir)).toBe(false);
    expect(hasRef(m)).toBe(true);
    const outcome = await service(m)({ taskId: TASK });
    expect(outcome).toMatchObject({ kind: "forgotten", removed: { snapshot: true, ref: true } });
    expect(hasRef(m)).toBe(false);
    expect(existsSync(pack(m))).toBe(false);
    expect(existsSync(join(m.roots.homeDir, "command-state", TASK))).toBe(false);
    expect(sh(m.project, "show", `wegent/${SHORT}:committed.txt`)).toBe("on the branch");
  }, 60_000);

  it("a scratch folder goes; a task that ran in the project itself leaves the project untouched", async () => {
    const m = machine();
    const scratch = join(m.roots.workspaceRoot, SCRATCH);
    mkdirSync(join(scratch, "docs"), { recursive: true });
    writeFileSync(join(scratch, "docs", "notes.txt"), "scratch\n");
    expect(await service(m)({ taskId: SCRATCH })).toMatchObject({
      kind: "forgotten",
      removed: { folder: true, worktree: false },
    });
    expect(existsSync(scratch)).toBe(false);

    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(IN_PLACE, m.project);
    const owners = join(m.roots.claudeProjectsRoot!, claudeProjectName(m.project));
    mkdirSync(owners, { recursive: true });
    writeFileSync(join(owners, "owner-session.jsonl"), "{}\n");
    const before = checkout(m.project);
    expect(await service(m)({ taskId: IN_PLACE })).toMatchObject({
      kind: "forgotten",
      removed: { worktree: false, folder: false },
    });
    expect(checkout(m.project)).toEqual(before);
    expect(existsSync(join(owners, "owner-session.jsonl"))).toBe(true);
    expect(existsSync(join(m.roots.homeDir, "command-state", IN_PLACE))).toBe(false);
  }, 60_000);

  it("takes no path from the wire: a task id that is not a UUID is refused before anything is touched", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const before = checkout(m.project);
    const handlers = new WorkspaceService({
      ...m.roots,
      backendUrl: "http://127.0.0.1:9",
      deviceId: "d1",
      projects: () => m.projects,
      local: true,
      log: silentLogger,
      running: () => false,
    }).handlers();
    for (const taskId of ["../../project", m.project, `${TASK}/..`, SHORT, ""]) {
      const answer = await answerDeviceRequest(
        {
          type: "device:request",
          requestId: "00000000-0000-4000-8000-000000000001",
          method: "workspace.forget",
          params: { taskId },
        },
        handlers,
      );
      expect(answer).toMatchObject({ ok: false, error: { code: "invalid_params" } });
      // And the function itself, should anything call it without the schema.
      await expect(
        forgetTask({ roots: m.roots, projects: () => m.projects }, taskId),
      ).rejects.toThrow("Not a task id");
    }
    expect(readFileSync(join(m.dir, "new.txt"), "utf8")).toBe("untracked\n");
    expect(existsSync(m.sessions)).toBe(true);
    expect(checkout(m.project)).toEqual(before);
  }, 60_000);
});
