import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, realpath, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { archiveSources } from "../src/workspace/archive";
import { cleanup } from "../src/workspace/cleanup";

// A sandboxed (cloud) agent's scratch folder may hold a repo planted to run a program when git
// reads it: a partial clone whose `.gitignore` (skip-worktree, its blob deleted) must be
// fetched through `remote.origin.uploadpack`. GIT_HARDENING does not stop that, so the
// archive and cleanup never run git in such a folder.
const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]) {
  return execFileSync("git", ["-c", "user.name=a", "-c", "user.email=a@b", ...args], {
    cwd,
    encoding: "utf8",
  });
}

async function plantedScratch() {
  const root = await realpath(await mkdtemp(join(tmpdir(), "wegent-walk-")));
  roots.push(root);
  const taskId = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
  const dir = join(root, "workspaces", taskId);
  const marker = join(root, "PWNED");
  await mkdir(dir, { recursive: true });
  git(dir, "init", "-q");
  await writeFile(join(dir, ".gitignore"), "ignored/\n");
  git(dir, "add", ".gitignore");
  git(dir, "commit", "-qm", "x");
  git(dir, "update-index", "--skip-worktree", ".gitignore");
  await unlink(join(dir, ".gitignore"));
  const blob = git(dir, "rev-parse", "HEAD:.gitignore").trim();
  await unlink(join(dir, ".git", "objects", blob.slice(0, 2), blob.slice(2)));
  for (const [key, value] of [
    ["core.repositoryformatversion", "1"],
    ["extensions.partialClone", "origin"],
    ["remote.origin.url", dir],
    ["remote.origin.promisor", "true"],
    ["remote.origin.uploadpack", `touch ${marker}; false`],
  ]) {
    git(dir, "config", key as string, value as string);
  }
  await writeFile(join(dir, "a.txt"), "a");
  await mkdir(join(dir, "ignored"));
  await writeFile(join(dir, "ignored", "f"), "f");
  const workspaceRoots = { workspaceRoot: join(root, "workspaces"), homeDir: join(root, "home") };
  return { dir, marker, taskId, workspaceRoots };
}

describe("archive and cleanup of a sandboxed agent's folder", () => {
  it("the plant is live: git listing ignored files there runs the agent's program", async () => {
    const { dir, marker } = await plantedScratch();
    spawnSync(
      "git",
      [
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.hooksPath=/dev/null",
        "ls-files",
        "--others",
      ].concat(["--ignored", "--exclude-standard", "--directory"]),
      { cwd: dir },
    );
    expect(existsSync(marker)).toBe(true);
  });

  it("lists and measures the folder without running git in it", async () => {
    const { marker, taskId, workspaceRoots } = await plantedScratch();
    const roots = { ...workspaceRoots, agentsSandboxed: true };
    const listing = await archiveSources(
      { kind: "scratch", dir: join(roots.workspaceRoot, taskId) },
      { roots, taskId, deviceId: "d" },
    );
    // Nothing counts as git-ignored: the agent's `.gitignore` plays no part.
    const names = listing.sources.map((s) => s.name);
    expect(names).toContain("workspace/a.txt");
    expect(names).toContain("workspace/ignored/f");
    const dry = await cleanup(
      roots,
      { olderThanHours: 0, dryRun: true },
      { running: () => false, archive: async () => {}, removed: async () => {} },
      Date.now() + 3_600_000,
    );
    expect(dry.workspaces).toBeGreaterThan(0);
    expect(existsSync(marker)).toBe(false);
  });
});
