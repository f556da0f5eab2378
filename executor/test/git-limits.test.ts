import { existsSync } from "node:fs";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setGitMemoryLimitKb } from "../src/system/git-bin";
import { type TaskWorkspace, workspaceStatus } from "../src/workspace/changes";

// git the executor runs over an agent's folder: a planted nested repo whose HEAD names a ref
// that is a link to /dev/zero makes `git add -A` read without end (1.4 GB in 4 s, measured);
// the address-space cap stops it. And git is never looked up in the agent's folder through an
// empty or `.` PATH entry.
let root: string;
const path = process.env.PATH;

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "wegent-git-limits-")));
  // The executor's PATH as an operator might have set it: `.` first.
  process.env.PATH = `.:${path ?? ""}`;
  setGitMemoryLimitKb(256 * 1024);
});

afterAll(async () => {
  process.env.PATH = path;
  await rm(root, { recursive: true, force: true });
});

async function scratch(name: string): Promise<TaskWorkspace> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "a.txt"), "a\n");
  return { dir, stateDir: join(root, `${name}-state`), sandboxed: true };
}

describe("git over an agent's folder", () => {
  it("stops at the memory cap on a ref that is a link to /dev/zero", async () => {
    const ws = await scratch("zero");
    const git = join(ws.dir, "sub", ".git");
    await mkdir(join(git, "refs", "heads"), { recursive: true });
    await mkdir(join(git, "objects"), { recursive: true });
    await writeFile(join(git, "HEAD"), "ref: refs/heads/main\n");
    await symlink("/dev/zero", join(git, "refs", "heads", "main"));
    const started = Date.now();
    const outcome = await workspaceStatus(ws).then(
      () => "answered",
      (error: Error) => error.message,
    );
    // Either git answers or it fails for memory, well before its 30 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toMatch(/answered|out of memory/i);
  }, 40_000);

  it("never runs a `git` the agent left in its folder", async () => {
    const ws = await scratch("path");
    const marker = join(root, "PWNED");
    await writeFile(join(ws.dir, "git"), `#!/bin/sh\ntouch ${marker}\nexit 1\n`, { mode: 0o755 });
    const status = await workspaceStatus(ws);
    expect(status.files.map((f) => f.path)).toEqual(["a.txt", "git"]);
    expect(existsSync(marker)).toBe(false);
  });
});
