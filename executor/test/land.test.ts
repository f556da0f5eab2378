// Landing a task's work (git.status / commit / merge / push / pr) through the command runner,
// with real git repositories made here: a project with three commits, the task's worktree on
// `wegent/<id>` made from the project's branch, and a bare remote.
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
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitLandResult, GitLandStatus } from "@wegent/protocol";
import { CommandRunner } from "../src/commands/runner";
import { TaskWorkspaces } from "../src/workspace/places";

const TASK = "abcdef12-2222-4333-8444-555555555555";
const SHORT = TASK.slice(0, 8);
const BRANCH = `wegent/${SHORT}`;

const sh = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

let root: string;
let home: string;
let project: string;
let tree: string;
let runner: CommandRunner;

async function setUp(options: { sandboxed?: boolean } = {}) {
  const places = new TaskWorkspaces(home, join(root, "ws"));
  await places.record(TASK, tree);
  runner = new CommandRunner({
    ownerCommands: [],
    version: "test",
    workspaceRoot: join(root, "ws"),
    homeDir: home,
    userHome: root,
    projectDirs: () => [project],
    resolveTask: (id) => places.resolve(id),
    baseBranch: (id) => places.baseBranch(id),
    baseEnv: { PATH: "/usr/bin:/bin", HOME: root },
    ...(options.sandboxed ? { agentsSandboxed: true } : {}),
  });
}

async function call(key: string, args: Record<string, unknown> = {}) {
  const answer = await runner.run({ key, args, taskId: TASK });
  if (!answer.ok) return { refused: answer.code, message: answer.message } as const;
  return { exitCode: answer.result.exitCode, json: JSON.parse(answer.result.stdout) as unknown };
}
async function landed(key: string, args: Record<string, unknown> = {}) {
  const answer = await call(key, args);
  if ("refused" in answer) throw new Error(`refused: ${answer.message}`);
  return { exitCode: answer.exitCode, result: GitLandResult.parse(answer.json) };
}

beforeEach(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "land-")));
  home = join(root, "home");
  project = join(root, "demo-app");
  mkdirSync(project, { recursive: true });
  sh(project, "init", "-q", "-b", "main");
  sh(project, "config", "user.name", "Ana");
  sh(project, "config", "user.email", "ana@example.com");
  for (const [i, line] of ["one", "two", "three"].entries()) {
    writeFileSync(
      join(project, "index.js"),
      `${["one", "two", "three"].slice(0, i + 1).join("\n")}\n`,
    );
    sh(project, "add", ".");
    sh(project, "commit", "-q", "-m", `commit ${line}`);
  }
  tree = join(home, "worktrees", "proj-1", SHORT);
  mkdirSync(join(home, "worktrees", "proj-1"), { recursive: true });
  sh(project, "worktree", "add", "-q", "-b", BRANCH, tree, "HEAD");
  await setUp();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("landing a task's work", { timeout: 60_000 }, () => {
  it("commits on the task's branch, then fast-forwards the checked-out base", async () => {
    writeFileSync(join(tree, "index.js"), "one\ntwo\nthree\nfour\n");
    writeFileSync(join(tree, "CHANGELOG.md"), "# 1.0\n");
    const status = await call("git.status");
    expect(status).toMatchObject({ exitCode: 0 });
    expect(GitLandStatus.parse((status as { json: unknown }).json)).toMatchObject({
      refusal: null,
      branch: BRANCH,
      base: "main",
      uncommitted: 2,
      ahead: 0,
      remote: null,
      gh: false,
      worktree: tree,
      project,
    });

    const commit = await landed("git.commit", { message: "Add four\n\nand a changelog" });
    expect(commit.exitCode).toBe(0);
    expect(commit.result).toMatchObject({ ok: true, commit: sh(tree, "rev-parse", "HEAD") });
    expect(sh(tree, "log", "-1", "--format=%s%n%an", BRANCH)).toBe("Add four\nAna");
    expect(sh(tree, "status", "--porcelain")).toBe("");
    // Nothing left: refused with its reason, nothing changed.
    const again = await landed("git.commit", { message: "again" });
    expect(again).toMatchObject({
      exitCode: 1,
      result: { ok: false, refusal: "nothing_to_commit" },
    });

    const merge = await landed("git.merge");
    expect(merge.result).toMatchObject({
      ok: true,
      how: "fast-forward",
      commit: commit.result.commit,
    });
    expect(sh(project, "log", "-1", "--format=%s", "main")).toBe("Add four");
    // The owner's checkout moved with its branch and is clean.
    expect(readFileSync(join(project, "index.js"), "utf8")).toBe("one\ntwo\nthree\nfour\n");
    expect(sh(project, "status", "--porcelain")).toBe("");
    expect(await landed("git.merge")).toMatchObject({
      exitCode: 1,
      result: { refusal: "already_merged" },
    });
  });

  it("makes a merge commit when the base moved elsewhere, without touching a base that is not checked out", async () => {
    // The owner moved on to another branch; main gets a commit in another file meanwhile.
    sh(project, "switch", "-q", "-c", "side");
    sh(project, "switch", "-q", "main");
    writeFileSync(join(project, "README.md"), "readme\n");
    sh(project, "add", ".");
    sh(project, "commit", "-q", "-m", "readme on main");
    sh(project, "switch", "-q", "side");
    writeFileSync(join(tree, "index.js"), "one\ntwo\nthree\nfour\n");
    await landed("git.commit", { message: "Add four" });
    const merge = await landed("git.merge");
    expect(merge.result).toMatchObject({ ok: true, how: "merge-commit" });
    const log = sh(project, "log", "--format=%s", "main").split("\n");
    expect(log[0]).toBe(`Merge branch '${BRANCH}' into main`);
    expect(log).toContain("readme on main");
    expect(log).toContain("Add four");
    expect(sh(project, "show", "main:index.js")).toBe("one\ntwo\nthree\nfour");
    expect(sh(project, "show", "main:README.md")).toBe("readme");
    expect(sh(project, "symbolic-ref", "--short", "HEAD")).toBe("side");
  });

  it("refuses a base that changed the same lines, with the file, and leaves every checkout as it was", async () => {
    writeFileSync(join(project, "index.js"), "one\nTWO\nthree\n");
    sh(project, "commit", "-q", "-am", "shout two");
    writeFileSync(join(tree, "index.js"), "one\n2\nthree\n");
    await landed("git.commit", { message: "number two" });
    const before = sh(project, "rev-parse", "main");
    const merge = await landed("git.merge");
    expect(merge.exitCode).toBe(1);
    expect(merge.result).toMatchObject({ ok: false, refusal: "conflict", conflicts: ["index.js"] });
    expect(merge.result.message).toContain("index.js");
    expect(sh(project, "rev-parse", "main")).toBe(before);
    expect(sh(project, "status", "--porcelain")).toBe("");
    expect(existsSync(join(project, ".git", "MERGE_HEAD"))).toBe(false);
    expect(readFileSync(join(project, "index.js"), "utf8")).toBe("one\nTWO\nthree\n");
  });

  it("refuses to merge into a checkout with uncommitted changes, or with the task's changes not committed", async () => {
    writeFileSync(join(tree, "index.js"), "one\ntwo\nthree\nfour\n");
    expect(await landed("git.merge")).toMatchObject({ result: { refusal: "uncommitted_changes" } });
    await landed("git.commit", { message: "Add four" });
    writeFileSync(join(project, "index.js"), "mine\n");
    const merge = await landed("git.merge");
    expect(merge.result).toMatchObject({ ok: false, refusal: "base_busy" });
    expect(readFileSync(join(project, "index.js"), "utf8")).toBe("mine\n");
    expect(sh(project, "log", "-1", "--format=%s", "main")).toBe("commit three");
  });

  it("pushes the branch to the project's remote (a bare repository)", async () => {
    expect(await landed("git.push")).toMatchObject({
      exitCode: 1,
      result: { refusal: "no_remote" },
    });
    const bare = join(root, "remote.git");
    sh(root, "init", "-q", "--bare", bare);
    sh(project, "remote", "add", "origin", bare);
    writeFileSync(join(tree, "index.js"), "pushed\n");
    await landed("git.commit", { message: "to the remote" });
    const push = await landed("git.push");
    expect(push.result).toMatchObject({ ok: true });
    expect(sh(root, "--git-dir", bare, "log", "-1", "--format=%s", BRANCH)).toBe("to the remote");
  });

  it("refuses a pull request without a signed-in gh, and every key outside a task worktree", async () => {
    expect(await landed("git.pr", { title: "Add four" })).toMatchObject({
      result: { ok: false, refusal: "gh_missing" },
    });
    // Bad arguments never reach git.
    expect(await call("git.commit", { message: "  " })).toMatchObject({ refused: "invalid_args" });
    expect(await call("git.commit", { message: ["-m", "x"] })).toMatchObject({
      refused: "invalid_args",
    });
    expect(await call("git.merge", { into: "main" })).toMatchObject({ refused: "invalid_args" });
    // Cloud mode: no git in a folder an agent wrote.
    await setUp({ sandboxed: true });
    expect(await call("git.status")).toMatchObject({ refused: "invalid_args" });
    // A project the device no longer offers.
    await setUp();
    runner = new CommandRunner({
      ownerCommands: [],
      version: "test",
      workspaceRoot: join(root, "ws"),
      homeDir: home,
      userHome: root,
      projectDirs: () => [],
      resolveTask: (id) => new TaskWorkspaces(home, join(root, "ws")).resolve(id),
    });
    expect(await call("git.merge")).toMatchObject({ refused: "path_outside" });
  });

  it("says a scratch task has no branch to land", async () => {
    const scratch = join(root, "ws", TASK);
    mkdirSync(scratch, { recursive: true });
    const places = new TaskWorkspaces(join(root, "home2"), join(root, "ws"));
    await places.record(TASK, scratch);
    runner = new CommandRunner({
      ownerCommands: [],
      version: "test",
      workspaceRoot: join(root, "ws"),
      homeDir: join(root, "home2"),
      userHome: root,
      resolveTask: (id) => places.resolve(id),
    });
    const status = await call("git.status");
    expect(GitLandStatus.parse((status as { json: unknown }).json).refusal).toBe("not_a_worktree");
  });
});
