import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  type CommandResult,
  WorkspaceDiff,
  WorkspaceFile,
  WorkspaceStatus,
} from "@wegent/protocol";
import { git as commandGit } from "../src/system/git";
import { CommandRunner, type RunnerOutcome } from "../src/commands/runner";
import { TaskWorkspaces } from "../src/workspace/places";
import { gitOut as projectGit } from "../src/system/git";
import { gitKeptFiles } from "../src/workspace/git-files";
import { tarStream } from "../src/workspace/tar";
import { measure, walk } from "../src/workspace/walk";

// Many git processes per test: sized for a loaded 2-core CI machine, not an idle laptop.
vi.setConfig({ testTimeout: 30_000 });

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

// The Changes tab (workspace.status / diff / file / revert) in cloud mode: the agent runs
// sandboxed as someone else, the executor holds the operator token and the model key. A repo
// the agent made in its scratch folder must play no part: its filters, diff drivers, fsmonitor
// would run as the executor, and a `.git` file or core.worktree would show another tenant's
// folder. Real git, real TaskWorkspaces + CommandRunner as the executor wires them.
function sh(cwd: string, ...argv: string[]): string {
  const [file, ...args] = argv;
  return execFileSync(file ?? "", args, { cwd, encoding: "utf8", stdio: "pipe" });
}

function ok(outcome: RunnerOutcome): CommandResult {
  if (!outcome.ok) throw new Error(`refused: ${outcome.code} ${outcome.message}`);
  return outcome.result;
}

const ID = ["-c", "user.name=agent", "-c", "user.email=agent@example.com"];

async function cloudDevice(sandboxed = true) {
  const root = await realpath(await mkdtemp(join(tmpdir(), "wegent-cloud-git-")));
  const workspaceRoot = join(root, "workspaces");
  const home = join(root, "home");
  const markers = join(root, "markers");
  await mkdir(markers, { recursive: true });
  const places = new TaskWorkspaces(home, workspaceRoot, { agentsSandboxed: sandboxed });
  const runner = new CommandRunner({
    ownerCommands: [],
    version: "1",
    workspaceRoot,
    homeDir: home,
    userHome: root,
    agentsSandboxed: sandboxed,
    resolveTask: (id) => places.resolve(id),
  });
  const call = async (key: string, taskId: string, args: Record<string, unknown> = {}) =>
    JSON.parse(ok(await runner.run({ key, args, taskId })).stdout) as unknown;
  const newTask = async (files: Record<string, string> = {}) => {
    const taskId = randomUUID();
    const dir = join(workspaceRoot, taskId);
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await places.record(taskId, dir); // as the executor does when the task gets its folder
    return { taskId, dir };
  };
  const fired = async () => (await readdir(markers)).sort();
  return { root, workspaceRoot, markers, call, newTask, fired };
}

/** What the agent runs in its folder: a repo with every driver that runs a command planted. */
async function plantDrivers(dir: string, markers: string) {
  sh(dir, "git", "init", "-q", "-b", "main");
  sh(dir, "git", ...ID, "commit", "-q", "--allow-empty", "-m", "start");
  const touch = (name: string) => `touch ${join(markers, name)}`;
  const config = (key: string, value: string) => sh(dir, "git", "config", key, value);
  config("filter.x.clean", `${touch("clean")}; cat`);
  config("filter.x.smudge", `${touch("smudge")}; cat`);
  config("filter.x.required", "true");
  config("diff.external", join(dir, ".ext-diff.sh"));
  config("diff.t.textconv", `${touch("textconv")}; cat`);
  config("core.fsmonitor", touch("fsmonitor"));
  await writeFile(join(dir, ".ext-diff.sh"), `#!/bin/sh\n${touch("ext-diff")}\n`, {
    mode: 0o755,
  });
  await writeFile(join(dir, ".gitattributes"), "* filter=x diff=t\n");
}

describe("the Changes tab of a sandboxed (cloud) agent's folder", () => {
  it("the plant is live: plain git in that folder runs every planted driver", async () => {
    const device = await cloudDevice();
    const { dir } = await device.newTask({ "keep.txt": "keep\n" });
    await plantDrivers(dir, device.markers);
    await writeFile(join(dir, "a.txt"), "hello\n");
    sh(dir, "git", "add", "-A"); // clean, fsmonitor
    sh(dir, "git", ...ID, "commit", "-q", "-m", "work");
    await writeFile(join(dir, "a.txt"), "hello again\n");
    sh(dir, "git", "diff"); // diff.external
    sh(dir, "git", "diff", "--no-ext-diff"); // textconv
    await rm(join(dir, "keep.txt"));
    sh(dir, "git", "checkout-index", "-f", "--", "keep.txt"); // smudge
    expect(await device.fired()).toEqual(["clean", "ext-diff", "fsmonitor", "smudge", "textconv"]);
  });

  it("status, diff, file and revert show the agent's real changes and run none of it", async () => {
    const device = await cloudDevice();
    // A folder that held a file when the task started (its base), then the agent's work.
    const { taskId, dir } = await device.newTask({ "keep.txt": "keep\n" });
    await plantDrivers(dir, device.markers);
    await writeFile(join(dir, "a.txt"), "hello\n");
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", "b.txt"), "b\n");
    await writeFile(join(dir, "keep.txt"), "changed\n");

    const status = WorkspaceStatus.parse(await device.call("workspace.status", taskId));
    expect(status.git).toBe(false);
    expect(status.files.map((f) => [f.path, f.status])).toEqual([
      [".ext-diff.sh", "added"],
      [".gitattributes", "added"],
      ["a.txt", "added"],
      ["keep.txt", "modified"],
      ["src/b.txt", "added"],
    ]);
    const diff = WorkspaceDiff.parse(await device.call("workspace.diff", taskId));
    expect(diff.diff).toContain("+hello\n");
    expect(diff.diff).toContain("-keep\n+changed\n");
    expect(diff.diff).not.toContain(".git/");
    const file = WorkspaceFile.parse(
      await device.call("workspace.file", taskId, { path: "a.txt" }),
    );
    expect(file.content).toBe("hello\n");
    const base = WorkspaceFile.parse(
      await device.call("workspace.file", taskId, { path: "keep.txt", base: true }),
    );
    expect(base.content).toBe("keep\n");
    expect(await device.call("workspace.revert", taskId, { path: "keep.txt" })).toEqual({
      path: "keep.txt",
      action: "restored",
    });
    expect(await readFile(join(dir, "keep.txt"), "utf8")).toBe("keep\n");
    expect(await device.call("workspace.revert", taskId, { path: "a.txt" })).toEqual({
      path: "a.txt",
      action: "removed",
    });
    expect(await device.fired()).toEqual([]);
    // The agent's repo is left as it was: the executor did not write into it.
    expect(sh(dir, "git", "-c", "core.fsmonitor=false", "rev-parse", "HEAD")).toMatch(/^[0-9a-f]/);
  });

  it("a `.git` file or core.worktree pointing at another tenant's folder shows nothing of it", async () => {
    const device = await cloudDevice();
    // Another tenant's task folder, a repo with a committed secret.
    const other = join(device.workspaceRoot, randomUUID());
    await mkdir(other, { recursive: true });
    await writeFile(join(other, "secret.txt"), "TENANT-B-SECRET\n");
    sh(other, "git", "init", "-q");
    sh(other, "git", "add", "secret.txt");
    sh(other, "git", ...ID, "commit", "-q", "-m", "secret");

    // One agent points its folder's `.git` FILE at the other tenant's repo …
    const byFile = await device.newTask();
    await writeFile(join(byFile.dir, ".git"), `gitdir: ${join(other, ".git")}\n`);
    await writeFile(join(byFile.dir, "mine.txt"), "mine\n");
    // … the other makes a repo whose core.worktree is the other tenant's folder.
    const byWorktree = await device.newTask();
    sh(byWorktree.dir, "git", "init", "-q");
    sh(byWorktree.dir, "git", "config", "core.worktree", other);
    await writeFile(join(byWorktree.dir, "mine.txt"), "mine\n");
    // … a third nests it: a subfolder whose `.git` file names the other tenant's repo.
    const nested = await device.newTask();
    await mkdir(join(nested.dir, "sub"));
    await writeFile(join(nested.dir, "sub", ".git"), `gitdir: ${join(other, ".git")}\n`);
    await writeFile(join(nested.dir, "mine.txt"), "mine\n");
    const otherHead = sh(other, "git", "rev-parse", "HEAD").trim();

    // The control: plain git in those folders does reach the other tenant's files.
    expect(sh(byFile.dir, "git", "show", "HEAD:secret.txt")).toContain("TENANT-B-SECRET");
    expect(sh(byWorktree.dir, "git", "status", "--porcelain")).toContain("secret.txt");
    expect(sh(join(nested.dir, "sub"), "git", "rev-parse", "HEAD").trim()).toBe(otherHead);

    for (const { taskId } of [byFile, byWorktree, nested]) {
      const status = WorkspaceStatus.parse(await device.call("workspace.status", taskId));
      expect(status.files.map((f) => f.path)).toEqual(["mine.txt"]);
      const diff = WorkspaceDiff.parse(await device.call("workspace.diff", taskId));
      expect(diff.diff).toContain("+mine\n");
      expect(JSON.stringify(diff)).not.toContain("secret");
      expect(JSON.stringify(diff)).not.toContain(otherHead.slice(0, 7));
      for (const fromBase of [true, false]) {
        const read = await device.call("workspace.file", taskId, {
          path: "secret.txt",
          base: fromBase,
        });
        expect(WorkspaceFile.parse(read).content).toBeNull();
      }
      expect(await device.call("workspace.revert", taskId, { path: "secret.txt" })).toEqual({
        path: "secret.txt",
        action: "unchanged",
      });
    }
    expect(await readFile(join(other, "secret.txt"), "utf8")).toBe("TENANT-B-SECRET\n");
    expect(sh(other, "git", "status", "--porcelain")).toBe("");
  });

  it("a folder that already held a repo when the task started is not taken as a checkout", async () => {
    const device = await cloudDevice();
    const taskId = randomUUID();
    const dir = join(device.workspaceRoot, taskId);
    await mkdir(dir, { recursive: true });
    await plantDrivers(dir, device.markers);
    await writeFile(join(dir, "a.txt"), "a\n");
    const places = new TaskWorkspaces(join(device.root, "home"), device.workspaceRoot, {
      agentsSandboxed: true,
    });
    await places.record(taskId, dir);
    expect(await device.fired()).toEqual([]);
    await writeFile(join(dir, "a.txt"), "b\n");
    const status = WorkspaceStatus.parse(await device.call("workspace.status", taskId));
    expect(status.files.map((f) => [f.path, f.status])).toEqual([["a.txt", "modified"]]);
    expect(await device.fired()).toEqual([]);
  });

  it("the executor's global config and attributes file play no part in the baseline", async () => {
    const device = await cloudDevice();
    const { taskId, dir } = await device.newTask();
    // A filter and a diff driver the executor's own user defines globally (XDG config).
    const xdg = join(device.root, "xdg");
    await mkdir(join(xdg, "git"), { recursive: true });
    const touch = (name: string) => `touch ${join(device.markers, name)}`;
    await writeFile(
      join(xdg, "git", "config"),
      `[filter "g"]\n\tclean = ${touch("global-clean")}; cat\n[diff]\n\texternal = ${touch("global-ext")}\n`,
    );
    await writeFile(join(xdg, "git", "attributes"), "* filter=g\n");
    await writeFile(join(dir, "a.txt"), "a\n");
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = xdg;
    try {
      // The control: git with that environment does run the global filter.
      execFileSync("git", ["hash-object", "--path=a.txt", join(dir, "a.txt")], { cwd: dir });
      expect(await device.fired()).toEqual(["global-clean"]);
      await rm(join(device.markers, "global-clean"));
      WorkspaceStatus.parse(await device.call("workspace.status", taskId));
      WorkspaceDiff.parse(await device.call("workspace.diff", taskId));
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
    expect(await device.fired()).toEqual([]);
  });
});

describe("the Changes tab of a local project", () => {
  it("never runs an external diff program or a textconv driver", async () => {
    const device = await cloudDevice(false);
    const { taskId, dir } = await device.newTask();
    sh(dir, "git", "init", "-q", "-b", "main");
    await writeFile(join(dir, "a.txt"), "one\n");
    sh(dir, "git", "add", "a.txt");
    sh(dir, "git", ...ID, "commit", "-q", "-m", "base");
    const touch = (name: string) => `touch ${join(device.markers, name)}`;
    sh(dir, "git", "config", "diff.external", join(dir, ".ext-diff.sh"));
    sh(dir, "git", "config", "diff.t.textconv", `${touch("textconv")}; cat`);
    await writeFile(join(dir, ".ext-diff.sh"), `#!/bin/sh\n${touch("ext-diff")}\n`, {
      mode: 0o755,
    });
    await writeFile(join(join(dir, ".git"), "info", "attributes"), "* diff=t\n");
    await writeFile(join(dir, "a.txt"), "two\n");
    const status = WorkspaceStatus.parse(await device.call("workspace.status", taskId));
    expect(status.git).toBe(true);
    const diff = WorkspaceDiff.parse(await device.call("workspace.diff", taskId));
    expect(await device.fired()).toEqual([]);
    expect(diff.diff).toContain("-one\n+two\n");
    // The control: the porcelain diff with that config runs both.
    sh(dir, "git", "diff");
    sh(dir, "git", "diff", "--no-ext-diff");
    expect(await device.fired()).toEqual(["ext-diff", "textconv"]);
  });
});
