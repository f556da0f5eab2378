import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TaskWorkspaces } from "../src/workspace/places";
import { cleanup, type CleanupHooks } from "../src/workspace/cleanup";
import { claudeProjectName, type WorkspaceRoots } from "../src/workspace/places";
import {
  hasSnapshot,
  restoreSnapshot,
  snapshotCommit,
  snapshotRef,
} from "../src/workspace/snapshot";
import { sh } from "./git-helpers";

// Local stays local (issue #26): a cleanup on a local device without cloud backup keeps a
// task's state on the device — a commit on `refs/wegent/snapshots/<task>` made through a
// temporary index (task branch, worktree index and main checkout untouched) and a local pack
// of its session — and a restore lays it out again. Real git repositories made here.

const TASK = "fedcba98-2222-4333-8444-555555555555";
const SHORT = TASK.slice(0, 8);
const SCRATCH_TASK = "0badcafe-2222-4333-8444-555555555555";

/** `git status --porcelain` lines (not trimmed: the first column can be a space). */
const status = (cwd: string) =>
  execFileSync("git", ["status", "--porcelain"], { cwd, encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .sort();

function machine() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "wegent-snap-")));
  const project = join(root, "project");
  mkdirSync(project);
  sh(project, "init", "-q", "-b", "main");
  writeFileSync(join(project, "a.txt"), "original\n");
  writeFileSync(join(project, "b.txt"), "to delete\n");
  writeFileSync(join(project, ".gitignore"), "ignored.log\n");
  sh(project, "add", "-A");
  sh(project, "commit", "-q", "-m", "start");
  // The owner's own uncommitted work in the main checkout: never touched.
  writeFileSync(join(project, "owner.txt"), "the owner's draft\n");
  sh(project, "add", "owner.txt");
  writeFileSync(join(project, "a.txt"), "owner edit\n");
  const roots: WorkspaceRoots = {
    workspaceRoot: join(root, "workspaces"),
    homeDir: join(root, "home"),
    claudeProjectsRoot: join(root, "claude", "projects"),
  };
  const dir = join(roots.homeDir, "worktrees", "p_test", SHORT);
  mkdirSync(join(roots.homeDir, "worktrees", "p_test"), { recursive: true });
  sh(project, "worktree", "add", "-q", "-b", `wegent/${SHORT}`, dir, "HEAD");
  // The agent: one commit, then uncommitted, staged, untracked, ignored and deleted files.
  writeFileSync(join(dir, "committed.txt"), "on the branch\n");
  sh(dir, "add", "committed.txt");
  sh(dir, "commit", "-q", "-m", "agent commit");
  writeFileSync(join(dir, "a.txt"), "changed by the agent\n");
  writeFileSync(join(dir, "staged.txt"), "staged\n");
  sh(dir, "add", "staged.txt");
  writeFileSync(join(dir, "new.txt"), "untracked\n");
  writeFileSync(join(dir, "ignored.log"), "ignored\n");
  rmSync(join(dir, "b.txt"));
  const sessions = join(roots.claudeProjectsRoot!, claudeProjectName(dir));
  mkdirSync(sessions, { recursive: true });
  writeFileSync(join(sessions, "s1.jsonl"), `${JSON.stringify({ type: "user", cwd: dir })}\n`);
  const projects = [{ id: "p_test", path: project, git: true }];
  return { root, project, roots, dir, sessions, projects };
}

/** What must not change in the project's own checkout. */
const checkout = (project: string) => ({
  head: sh(project, "rev-parse", "HEAD"),
  status: sh(project, "status", "--porcelain"),
  index: sh(project, "ls-files", "-s"),
  a: readFileSync(join(project, "a.txt"), "utf8"),
});

const noUpload: CleanupHooks = {
  running: () => false,
  archive: () => Promise.reject(new Error("uploaded although the device keeps its workspaces")),
  removed: () => Promise.reject(new Error("told the platform about an archive")),
};

describe("local snapshots (executor)", () => {
  it("snapshotCommit writes the hidden ref through a temporary index; branch, worktree index and main checkout untouched", async () => {
    const m = machine();
    const before = checkout(m.project);
    const branch = sh(m.project, "rev-parse", `wegent/${SHORT}`);
    const worktreeStatus = sh(m.dir, "status", "--porcelain");
    const worktreeIndex = sh(m.dir, "ls-files", "-s");
    const commit = await snapshotCommit(m.dir, TASK, join(m.roots.homeDir, "tmp"));
    expect(sh(m.project, "rev-parse", snapshotRef(TASK))).toBe(commit);
    expect(sh(m.project, "rev-parse", `${commit}^`)).toBe(branch);
    const files = sh(m.project, "ls-tree", "-r", "--name-only", commit).split("\n").sort();
    expect(files).toEqual([".gitignore", "a.txt", "committed.txt", "new.txt", "staged.txt"]);
    expect(sh(m.project, "show", `${commit}:a.txt`)).toBe("changed by the agent");
    expect(sh(m.project, "rev-parse", `wegent/${SHORT}`)).toBe(branch);
    expect(sh(m.dir, "status", "--porcelain")).toBe(worktreeStatus);
    expect(sh(m.dir, "ls-files", "-s")).toBe(worktreeIndex);
    expect(checkout(m.project)).toEqual(before);
    // No temporary index left behind.
    const left = execFileSync("find", [m.roots.homeDir, "-name", "snapshot-index-*"]);
    expect(left.toString()).toBe("");
  }, 60_000);

  it("a cleanup keeping workspaces on the device snapshots, removes the worktree, uploads nothing; the restore brings everything back", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const before = checkout(m.project);
    const branch = sh(m.project, "rev-parse", `wegent/${SHORT}`);
    const later = Date.now() + 3 * 3600_000;
    const report = await cleanup(
      m.roots,
      { olderThanHours: 1, dryRun: false, keep: "device" },
      {
        ...noUpload,
        snapshot: async (taskId, place) => {
          const { snapshotTask } = await import("../src/workspace/snapshot");
          await snapshotTask(place, { roots: m.roots, taskId, deviceId: "d1" }, 1 << 24);
        },
      },
      later,
    );
    expect(report.entries).toEqual([
      expect.objectContaining({ taskId: TASK, outcome: "removed", snapshot: true }),
    ]);
    expect(existsSync(m.dir)).toBe(false);
    expect(await hasSnapshot(m.roots, TASK)).toBe(true);
    expect(existsSync(join(m.roots.homeDir, "snapshots", `${TASK}.tar.gz`))).toBe(true);
    expect(sh(m.project, "show", `${snapshotRef(TASK)}:new.txt`)).toBe("untracked");
    expect(sh(m.project, "rev-parse", `wegent/${SHORT}`)).toBe(branch);
    expect(checkout(m.project)).toEqual(before);
    // The owner's session folder of the worktree goes with the snapshot's pack, not the cloud.
    rmSync(m.sessions, { recursive: true });

    const restored = await restoreSnapshot({
      roots: m.roots,
      taskId: TASK,
      deviceId: "d1",
      projects: () => m.projects,
    });
    expect(restored.place).toBe("worktree");
    expect(sh(m.dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe(`wegent/${SHORT}`);
    expect(sh(m.dir, "rev-parse", "HEAD")).toBe(branch);
    expect(readFileSync(join(m.dir, "a.txt"), "utf8")).toBe("changed by the agent\n");
    expect(readFileSync(join(m.dir, "new.txt"), "utf8")).toBe("untracked\n");
    expect(readFileSync(join(m.dir, "staged.txt"), "utf8")).toBe("staged\n");
    expect(readFileSync(join(m.dir, "committed.txt"), "utf8")).toBe("on the branch\n");
    expect(existsSync(join(m.dir, "b.txt"))).toBe(false);
    // Uncommitted again (the staged file comes back untracked: the index is the branch's).
    expect(status(m.dir)).toEqual([" D b.txt", " M a.txt", "?? new.txt", "?? staged.txt"]);
    expect(readFileSync(join(m.sessions, "s1.jsonl"), "utf8")).toContain('"user"');
    // Used up: the ref, the pack and its record are gone; the checkout still untouched.
    expect(() => sh(m.project, "rev-parse", "--verify", "-q", snapshotRef(TASK))).toThrow();
    expect(await hasSnapshot(m.roots, TASK)).toBe(false);
    expect(checkout(m.project)).toEqual(before);
  }, 60_000);

  it("a scratch workspace is packed under the executor's home and unpacked again", async () => {
    const m = machine();
    const scratch = join(m.roots.workspaceRoot, SCRATCH_TASK);
    mkdirSync(join(scratch, "docs"), { recursive: true });
    writeFileSync(join(scratch, "docs", "notes.txt"), "kept here\n");
    const report = await cleanup(
      m.roots,
      { olderThanHours: 1, dryRun: false, keep: "device" },
      {
        ...noUpload,
        snapshot: async (taskId, place) => {
          const { snapshotTask } = await import("../src/workspace/snapshot");
          await snapshotTask(place, { roots: m.roots, taskId, deviceId: "d1" }, 1 << 24);
        },
      },
      Date.now() + 3 * 3600_000,
    );
    expect(report.entries).toEqual([
      expect.objectContaining({ taskId: SCRATCH_TASK, outcome: "removed", snapshot: true }),
    ]);
    expect(existsSync(scratch)).toBe(false);
    const restored = await restoreSnapshot({
      roots: m.roots,
      taskId: SCRATCH_TASK,
      deviceId: "d1",
      projects: () => m.projects,
    });
    expect(restored.place).toBe("folder");
    expect(readFileSync(join(scratch, "docs", "notes.txt"), "utf8")).toBe("kept here\n");
    // Nothing left to restore twice.
    await expect(
      restoreSnapshot({ roots: m.roots, taskId: SCRATCH_TASK, deviceId: "d1", projects: () => [] }),
    ).rejects.toThrow(/no snapshot/);
  }, 60_000);

  it("a snapshot whose project is no longer offered is refused with where the files are", async () => {
    const m = machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const { snapshotTask } = await import("../src/workspace/snapshot");
    const { locateTask } = await import("../src/workspace/places");
    await snapshotTask(
      await locateTask(m.roots, TASK),
      { roots: m.roots, taskId: TASK, deviceId: "d1" },
      1 << 24,
    );
    await expect(
      restoreSnapshot({ roots: m.roots, taskId: TASK, deviceId: "d1", projects: () => [] }),
    ).rejects.toThrow(/refs\/wegent\/snapshots/);
    expect(await hasSnapshot(m.roots, TASK)).toBe(true);
  }, 60_000);
});
