import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandStateDir, TaskWorkspaces } from "../src/workspace/places";
import {
  type TaskWorkspace,
  workspaceDiff,
  workspaceRevert,
  workspaceStatus,
} from "../src/workspace/changes";
import { removeLeftoverTaskFolders } from "../src/sandbox/cloud-launcher";
import { cleanup } from "../src/workspace/cleanup";

// The Changes tab's object store (<home>/command-state/<task>) must not grow with every refresh,
// must go with the task's workspace, and a huge (sparse) file must not make status time out.

const TASK = "33333333-4444-4555-8666-777777777777";
const MB = 1024 * 1024;

/** Bytes of every file under `dir`. */
function du(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) total += du(path);
    else if (name.isFile()) total += statSync(path).size;
  }
  return total;
}

async function task(sandboxed: boolean) {
  const root = mkdtempSync(join(tmpdir(), "wegent-cmdstate-"));
  const home = join(root, "home");
  const workspaceRoot = join(root, "workspaces");
  const dir = join(workspaceRoot, TASK);
  mkdirSync(dir, { recursive: true });
  return {
    root,
    home,
    workspaceRoot,
    dir,
    places: new TaskWorkspaces(home, workspaceRoot, { agentsSandboxed: sandboxed }),
  };
}

async function workspace(
  t: Awaited<ReturnType<typeof task>>,
  sandboxed: boolean,
): Promise<TaskWorkspace> {
  const found = await t.places.resolve(TASK);
  return { ...found!, stateDir: commandStateDir(t.home, TASK), sandboxed };
}

describe("the Changes tab's store (command-state/<task>)", () => {
  it("stays the base plus one copy of each changed file, over many status calls", async () => {
    const t = await task(true);
    writeFileSync(join(t.dir, "data.bin"), randomBytes(20 * MB));
    writeFileSync(join(t.dir, "notes.txt"), "hello\n");
    await t.places.record(TASK, t.dir);
    const state = commandStateDir(t.home, TASK);
    const sizes = [du(state)];
    const ws = await workspace(t, true);
    // Three calls with the same change, then three with a new version of the file each time.
    writeFileSync(join(t.dir, "data.bin"), randomBytes(20 * MB));
    for (let i = 0; i < 3; i++) {
      const status = await workspaceStatus(ws);
      expect(status.files.map((f) => f.path)).toEqual(["data.bin"]);
      sizes.push(du(state));
    }
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(t.dir, "data.bin"), randomBytes(20 * MB));
      await workspaceDiff(ws);
      sizes.push(du(state));
    }
    console.log(
      `command-state after record, 3 status, 3 diffs of new versions (MB): ${sizes.map((s) => (s / MB).toFixed(1)).join(" → ")}`,
    );
    // The base (~20 MB) plus the current version (~20 MB), whatever happened before.
    expect(Math.max(...sizes)).toBeLessThan(42 * MB);
    // The answers are still right once the file is back as it started.
    writeFileSync(join(t.dir, "notes.txt"), "hello\nworld\n");
    const parallel = await Promise.all([1, 2, 3, 4].map(() => workspaceStatus(ws)));
    for (const status of parallel) {
      expect(status.files.map((f) => f.path).sort()).toEqual(["data.bin", "notes.txt"]);
    }
  }, 120_000);

  it("lists a huge sparse file with a marker instead of reading it (status and diff stay fast)", async () => {
    const t = await task(true);
    writeFileSync(join(t.dir, "small.txt"), "a\n");
    await t.places.record(TASK, t.dir);
    const ws = await workspace(t, true);
    writeFileSync(join(t.dir, "huge.img"), "");
    await truncate(join(t.dir, "huge.img"), 8 * 1024 * MB); // 8 GiB, no disk used
    writeFileSync(join(t.dir, "small.txt"), "a\nb\n");
    const started = performance.now();
    const status = await workspaceStatus(ws);
    const diff = await workspaceDiff(ws);
    const ms = performance.now() - started;
    console.log(`status + diff with an 8 GiB sparse file: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(10_000);
    const huge = status.files.find((f) => f.path === "huge.img");
    expect(huge).toMatchObject({
      status: "added",
      tooLarge: true,
      size: 8 * 1024 * MB,
      added: null,
    });
    expect(status.files.find((f) => f.path === "small.txt")).toMatchObject({
      added: 1,
      removed: 0,
    });
    expect(diff.files.find((f) => f.path === "huge.img")?.tooLarge).toBe(true);
    expect(diff.diff).toContain("+b");
    expect(diff.diff).not.toContain("huge.img");
  }, 120_000);

  it("a large file already there when the task started is not listed until its size changes", async () => {
    const t = await task(true);
    writeFileSync(join(t.dir, "disk.img"), "");
    await truncate(join(t.dir, "disk.img"), 2 * 1024 * MB);
    await t.places.record(TASK, t.dir);
    const ws = await workspace(t, true);
    expect((await workspaceStatus(ws)).files).toEqual([]);
    await truncate(join(t.dir, "disk.img"), 3 * 1024 * MB);
    expect((await workspaceStatus(ws)).files).toMatchObject([
      { path: "disk.img", status: "modified", tooLarge: true, size: 3 * 1024 * MB },
    ]);
    // Its base version was never kept: a revert refuses instead of deleting the file.
    await expect(workspaceRevert(ws, "disk.img")).rejects.toThrow(/too large to keep its base/);
    expect(statSync(join(t.dir, "disk.img")).size).toBe(3 * 1024 * MB);
  }, 120_000);

  it("goes with the task's workspace: cleanup and the cloud pool's leftovers", async () => {
    const t = await task(false);
    writeFileSync(join(t.dir, "a.txt"), "a");
    await t.places.record(TASK, t.dir);
    writeFileSync(join(t.dir, "a.txt"), "b");
    await workspaceStatus(await workspace(t, false));
    const state = commandStateDir(t.home, TASK);
    expect(existsSync(state)).toBe(true);
    const report = await cleanup(
      { workspaceRoot: t.workspaceRoot, homeDir: t.home },
      { olderThanHours: 0, dryRun: false },
      { running: () => false, archive: async () => undefined, removed: async () => undefined },
    );
    expect(report.entries.map((e) => e.outcome)).toEqual(["removed"]);
    expect(existsSync(t.dir)).toBe(false);
    expect(existsSync(state)).toBe(false);

    // Cloud mode: a crash leaves folders behind; the next start removes the state too.
    mkdirSync(join(state, "baseline.git"), { recursive: true });
    await removeLeftoverTaskFolders(t.home, t.workspaceRoot);
    expect(existsSync(state)).toBe(false);
  }, 60_000);
});
