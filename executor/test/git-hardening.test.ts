import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git as commandGit } from "../src/commands/git";
import { git as projectGit } from "../src/local/projects";
import { gitKeptFiles } from "../src/workspace/git-files";
import { tarStream } from "../src/workspace/tar";
import { measure, walk } from "../src/workspace/walk";

// A folder the agent wrote may carry a git config that runs a command (core.fsmonitor) or
// hooks: git the executor runs there (archive listings, cleanup's disk use, worktree checks,
// the Changes tab) must never run them — in cloud mode that would be outside the sandbox.
function plantedRepo() {
  const dir = mkdtempSync(join(tmpdir(), "wegent-planted-"));
  const marker = join(dir, "..", `${dir.split("/").pop()}-PWNED`);
  execFileSync("git", ["init", "-q"], { cwd: dir });
  writeFileSync(join(dir, "a.txt"), "a");
  execFileSync("git", ["-c", "user.name=a", "-c", "user.email=a@b", "add", "a.txt"], { cwd: dir });
  // Planted after the index exists, as an agent would.
  writeFileSync(
    join(dir, ".git", "config"),
    `[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "touch ${marker}"\n\thooksPath = hooks\n`,
  );
  mkdirSync(join(dir, "hooks"), { recursive: true });
  writeFileSync(join(dir, "hooks", "post-checkout"), `#!/bin/sh\ntouch ${marker}\n`, {
    mode: 0o755,
  });
  return { dir, marker };
}

describe("git in a folder the agent wrote", () => {
  it("the fsmonitor a plain git would run is really planted (the check can fail)", () => {
    const { dir, marker } = plantedRepo();
    execFileSync("git", ["ls-files", "--others", "--ignored", "--exclude-standard"], {
      cwd: dir,
    });
    expect(existsSync(marker)).toBe(true);
  });

  it("archive listings, disk use, worktree checks and the Changes tab run none of it", async () => {
    const { dir, marker } = plantedRepo();
    await walk(dir, "workspace");
    await measure(dir);
    await gitKeptFiles(dir, "workspace");
    await projectGit(["rev-parse", "--show-toplevel"], dir);
    await projectGit(["status", "--porcelain"], dir);
    await commandGit(["status", "--porcelain"], { cwd: dir });
    expect(existsSync(marker)).toBe(false);
  });
});

describe("names the archive could not give back", () => {
  it("refuses a file name with a newline (two such names would unpack as one)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wegent-names-"));
    writeFileSync(join(dir, "a\nX"), "x");
    const listing = await walk(dir, "workspace");
    const drain = async () => {
      for await (const chunk of tarStream(listing.sources)) void chunk;
    };
    await expect(drain()).rejects.toThrow(/control character/);
  });
});
