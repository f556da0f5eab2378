// The command runner with real processes, a real git repository and real skill folders.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  realpath,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CommandResult,
  MAX_FRAME_BYTES,
  SkillsLink,
  SkillsList,
  WorkspaceDiff,
  WorkspaceFile,
  WorkspaceStatus,
} from "@wegent/protocol";
import { isAlive } from "../src/system/process-tree";
import { CommandRunner, type RunnerOutcome } from "../src/commands/runner";
import { parseOwnerCommands } from "../src/commands/owner-commands";
import { commandStateDir, TaskWorkspaces } from "../src/workspace/places";

let root: string;
let runner: CommandRunner;
let projectDir: string;
const scratchTask = randomUUID();
const gitTask = randomUUID();

function sh(cwd: string, ...argv: string[]): string {
  const [file, ...args] = argv;
  return execFileSync(file ?? "", args, { cwd, encoding: "utf8" });
}

/** Alive and not a zombie (a killed orphan waits for init to reap it). */
function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).charAt(0) !== "Z";
  } catch {
    return false;
  }
}

function ok(outcome: RunnerOutcome): CommandResult {
  if (!outcome.ok) throw new Error(`refused: ${outcome.code} ${outcome.message}`);
  return outcome.result;
}

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "wegent-commands-")));
  const workspaceRoot = join(root, "workspaces");
  projectDir = join(root, "project");
  await mkdir(join(workspaceRoot, scratchTask), { recursive: true });
  // A project checkout: the git task works in it, with one commit as its base.
  await mkdir(projectDir, { recursive: true });
  sh(projectDir, "git", "init", "-q", "-b", "main");
  sh(projectDir, "git", "config", "user.email", "t@example.com");
  sh(projectDir, "git", "config", "user.name", "t");
  await writeFile(join(projectDir, "a.txt"), "one\ntwo\nthree\n");
  await writeFile(join(projectDir, "b.ts"), "export const b = 1;\n");
  sh(projectDir, "git", "add", "-A");
  sh(projectDir, "git", "commit", "-q", "-m", "base");
  runner = new CommandRunner({
    ownerCommands: parseOwnerCommands(
      {
        echo: { argv: ["echo"], cwd: projectDir },
        sleeper: {
          argv: ["sh", "-c", "sleep 30 & echo $! > child.pid; sleep 30"],
          cwd: projectDir,
          timeoutSec: 1,
        },
        big: {
          argv: ["sh", "-c", "yes 0123456789 | head -c 3000000"],
          cwd: projectDir,
          maxOutputBytes: 5 * 1024 * 1024,
        },
        flood: {
          argv: ["head", "-c", "3000000", "/dev/zero"],
          cwd: projectDir,
          maxOutputBytes: 1000,
        },
        escape: { argv: ["pwd"], cwd: "/" },
        here: { argv: ["pwd"] },
        stdin: { argv: ["cat"], cwd: projectDir },
      },
      root,
    ),
    version: "9.9.9",
    workspaceRoot,
    homeDir: join(root, "home"),
    userHome: join(root, "user"),
    projectDirs: () => [projectDir],
    resolveTask: async (taskId) =>
      taskId === gitTask
        ? { dir: projectDir }
        : taskId === scratchTask
          ? { dir: join(workspaceRoot, taskId) }
          : null,
  });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("executor rules", () => {
  it("passes an injection attempt as one literal argument, never to a shell", async () => {
    const result = ok(
      await runner.run({
        key: "echo",
        args: { argv: ["hello; echo hacked", "$(id)"] },
        taskId: null,
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("hello; echo hacked $(id)\n");
  });

  it("closes stdin", async () => {
    const result = ok(await runner.run({ key: "stdin", args: {}, taskId: null }));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("");
  });

  it("kills a command that sleeps past its timeout, with its children", async () => {
    const started = Date.now();
    const result = ok(await runner.run({ key: "sleeper", args: {}, taskId: null }));
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(Date.now() - started).toBeLessThan(5000);
    const childPid = Number((await readFile(join(projectDir, "child.pid"), "utf8")).trim());
    expect(childPid).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(running(childPid)).toBe(false);
    await rm(join(projectDir, "child.pid"));
  });

  it("caps output and says so", async () => {
    const result = ok(await runner.run({ key: "flood", args: {}, taskId: null }));
    expect(result.stdout.length).toBe(1000);
    expect(result.truncated).toBe(true);
    expect(result.exitCode).toBe(0);
  });

  it("keeps every answer within one frame of the device socket", async () => {
    const big = ok(await runner.run({ key: "big", args: {}, taskId: null }));
    expect(big.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(big.stdout.length).toBeGreaterThan(500_000);
    // A diff bigger than a frame stays valid JSON, cut and marked.
    const lines = Array.from({ length: 60_000 }, (_, i) => `"quoted" line ${i}`).join("\n");
    await writeFile(join(root, "workspaces", scratchTask, "huge.txt"), lines);
    const diff = ok(await runner.run({ key: "workspace.diff", args: {}, taskId: scratchTask }));
    expect(diff.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(diff))).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(WorkspaceDiff.parse(JSON.parse(diff.stdout)).files[0]?.path).toBe("huge.txt");
    await rm(join(root, "workspaces", scratchTask, "huge.txt"));
  });

  it("refuses an unknown key even if the platform sent it", async () => {
    const outcome = await runner.run({ key: "rm", args: { argv: ["-rf", "/"] }, taskId: null });
    expect(outcome).toMatchObject({ ok: false, code: "command_unknown" });
  });

  it("refuses bad args naming the field", async () => {
    const outcome = await runner.run({
      key: "workspace.file",
      args: { path: "../x" },
      taskId: gitTask,
    });
    expect(outcome).toMatchObject({ ok: false, code: "invalid_args" });
    if (!outcome.ok) expect(outcome.message).toMatch(/^args\.path/);
    const extra = await runner.run({ key: "runtime.info", args: { x: 1 }, taskId: null });
    expect(extra).toMatchObject({ ok: false, code: "invalid_args" });
  });

  it("runs only inside a project or a task workspace", async () => {
    const outcome = await runner.run({ key: "escape", args: {}, taskId: null });
    expect(outcome).toMatchObject({ ok: false, code: "path_outside" });
    const needsTask = await runner.run({ key: "here", args: {}, taskId: null });
    expect(needsTask).toMatchObject({ ok: false, code: "invalid_args" });
    const inTask = ok(await runner.run({ key: "here", args: {}, taskId: scratchTask }));
    expect(inTask.stdout.trim()).toBe(join(root, "workspaces", scratchTask));
    const unknownTask = await runner.run({ key: "here", args: {}, taskId: randomUUID() });
    expect(unknownTask).toMatchObject({ ok: false, code: "task_not_found" });
  });

  it("does not hand its own token or model credentials to a command", async () => {
    process.env.WEGENT_TOKEN = "secret-token";
    const env = new CommandRunner({
      ownerCommands: parseOwnerCommands({ env: { argv: ["env"], cwd: projectDir } }),
      version: "1",
      workspaceRoot: root,
      homeDir: root,
      userHome: root,
      projectDirs: () => [projectDir],
    });
    const result = ok(await env.run({ key: "env", args: {}, taskId: null }));
    delete process.env.WEGENT_TOKEN;
    expect(result.stdout).not.toContain("secret-token");
    // Local mode: the user's login environment, still without secrets.
    const login = new CommandRunner({
      ownerCommands: parseOwnerCommands({ env: { argv: ["env"], cwd: projectDir } }),
      version: "1",
      workspaceRoot: root,
      homeDir: root,
      userHome: root,
      projectDirs: () => [projectDir],
      baseEnv: {
        PATH: process.env.PATH,
        FROM_LOGIN: "yes",
        WEGENT_TOKEN: "t0ken",
        ANTHROPIC_API_KEY: "sk-x",
      },
    });
    const fromLogin = ok(await login.run({ key: "env", args: {}, taskId: null }));
    expect(fromLogin.stdout).toContain("FROM_LOGIN=yes");
    expect(fromLogin.stdout).not.toMatch(/t0ken|sk-x/);
  });
});

describe("workspace commands", () => {
  it("shows the two files an agent changed in a git worktree, then reverts one", async () => {
    await writeFile(join(projectDir, "a.txt"), "one\nTWO\nthree\nfour\n");
    await writeFile(join(projectDir, "new file.md"), "# hi\n");
    const status = WorkspaceStatus.parse(
      JSON.parse(
        ok(await runner.run({ key: "workspace.status", args: {}, taskId: gitTask })).stdout,
      ),
    );
    expect(status.git).toBe(true);
    expect(status.files).toEqual([
      { path: "a.txt", status: "modified", oldPath: null, added: 2, removed: 1 },
      { path: "new file.md", status: "added", oldPath: null, added: 1, removed: 0 },
    ]);
    const diff = WorkspaceDiff.parse(
      JSON.parse(ok(await runner.run({ key: "workspace.diff", args: {}, taskId: gitTask })).stdout),
    );
    expect(diff.diff).toContain("-two\n+TWO\n");
    expect(diff.diff).toContain("+# hi");
    // The user's own index is untouched: the new file is still untracked for them.
    expect(sh(projectDir, "git", "status", "--porcelain")).toContain(`?? "new file.md"`);

    const base = WorkspaceFile.parse(
      JSON.parse(
        ok(
          await runner.run({
            key: "workspace.file",
            args: { path: "a.txt", base: true },
            taskId: gitTask,
          }),
        ).stdout,
      ),
    );
    expect(base.content).toBe("one\ntwo\nthree\n");

    const revert = JSON.parse(
      ok(await runner.run({ key: "workspace.revert", args: { path: "a.txt" }, taskId: gitTask }))
        .stdout,
    );
    expect(revert).toEqual({ path: "a.txt", action: "restored" });
    expect(await readFile(join(projectDir, "a.txt"), "utf8")).toBe("one\ntwo\nthree\n");
    const removed = JSON.parse(
      ok(
        await runner.run({
          key: "workspace.revert",
          args: { path: "new file.md" },
          taskId: gitTask,
        }),
      ).stdout,
    );
    expect(removed.action).toBe("removed");
    expect(sh(projectDir, "git", "status", "--porcelain")).toBe("");
  });

  it("diffs a scratch workspace against an empty base without making it a repo", async () => {
    const dir = join(root, "workspaces", scratchTask);
    await writeFile(join(dir, "x.py"), "print('x')\n");
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", "y.py"), "y = 1\ny = 2\n");
    const diff = WorkspaceDiff.parse(
      JSON.parse(
        ok(await runner.run({ key: "workspace.diff", args: {}, taskId: scratchTask })).stdout,
      ),
    );
    expect(diff.git).toBe(false);
    expect(diff.files.map((f) => [f.path, f.added])).toEqual([
      ["src/y.py", 2],
      ["x.py", 1],
    ]);
    await expect(lstat(join(dir, ".git"))).rejects.toThrow();
  });

  it("refuses files reached through a link out of the workspace", async () => {
    const outside = join(root, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "secret"), "s3cret");
    await symlink(outside, join(projectDir, "out"));
    await symlink(join(outside, "secret"), join(projectDir, "direct"));
    for (const path of ["out/secret", "direct"]) {
      const read = await runner.run({ key: "workspace.file", args: { path }, taskId: gitTask });
      expect(read).toMatchObject({ ok: false, code: "path_outside" });
    }
    const revert = await runner.run({
      key: "workspace.revert",
      args: { path: "out/secret" },
      taskId: gitTask,
    });
    expect(revert).toMatchObject({ ok: false, code: "path_outside" });
    expect(await readFile(join(outside, "secret"), "utf8")).toBe("s3cret");
    await rm(join(projectDir, "out"));
    await rm(join(projectDir, "direct"));
  });
});

describe("task workspaces", () => {
  it("keeps the base a task started from, so commits by the agent still show", async () => {
    const home = join(root, "home");
    const places = new TaskWorkspaces(home, join(root, "workspaces"));
    const taskId = randomUUID();
    await places.record(taskId, projectDir);
    const withPlaces = new CommandRunner({
      ownerCommands: [],
      version: "1",
      workspaceRoot: join(root, "workspaces"),
      homeDir: home,
      userHome: root,
      projectDirs: () => [projectDir],
      resolveTask: (id) => places.resolve(id),
    });
    await writeFile(join(projectDir, "b.ts"), "export const b = 2;\n");
    sh(projectDir, "git", "commit", "-qam", "agent commit");
    await places.record(taskId, projectDir); // a follow-up: the base stays
    const diff = WorkspaceDiff.parse(
      JSON.parse(ok(await withPlaces.run({ key: "workspace.diff", args: {}, taskId })).stdout),
    );
    expect(diff.files.map((f) => f.path)).toEqual(["b.ts"]);
    // A record pointing outside the workspaces and projects is refused, whoever wrote it.
    await writeFile(
      join(commandStateDir(home, taskId), "workspace.json"),
      JSON.stringify({ dir: "/", base: null }),
    );
    const forged = await withPlaces.run({ key: "workspace.status", args: {}, taskId });
    expect(forged).toMatchObject({ ok: false, code: "path_outside" });
  });
});

describe("a non-git folder worked in place", () => {
  it("is compared with what it held when the task started", async () => {
    const folder = join(root, "plain-project");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "keep.txt"), "kept\n");
    await writeFile(join(folder, "edit.txt"), "before\n");
    const home = join(root, "home");
    const places = new TaskWorkspaces(home, join(root, "workspaces"));
    const taskId = randomUUID();
    await places.record(taskId, folder);
    const inPlace = new CommandRunner({
      ownerCommands: [],
      version: "1",
      workspaceRoot: join(root, "workspaces"),
      homeDir: home,
      userHome: root,
      projectDirs: () => [folder],
      resolveTask: (id) => places.resolve(id),
    });
    await writeFile(join(folder, "edit.txt"), "after\n");
    await writeFile(join(folder, "new.txt"), "new\n");
    const status = WorkspaceStatus.parse(
      JSON.parse(ok(await inPlace.run({ key: "workspace.status", args: {}, taskId })).stdout),
    );
    expect(status.files.map((f) => [f.path, f.status])).toEqual([
      ["edit.txt", "modified"],
      ["new.txt", "added"],
    ]);
    await inPlace.run({ key: "workspace.revert", args: { path: "edit.txt" }, taskId });
    expect(await readFile(join(folder, "edit.txt"), "utf8")).toBe("before\n");
    await expect(lstat(join(folder, ".git"))).rejects.toThrow();
  });
});

describe("runtime and skills", () => {
  it("reports versions and free disk", async () => {
    const info = JSON.parse(
      ok(await runner.run({ key: "runtime.info", args: {}, taskId: null })).stdout,
    );
    expect(info.executor).toBe("9.9.9");
    expect(info.node).toBe(process.version);
    expect(info.git).toMatch(/^git version/);
    expect(info.freeDiskBytes).toBeGreaterThan(0);
  });

  it("lists skills of three folders and unifies one without deleting anything", async () => {
    const home = join(root, "user");
    const claude = join(home, ".claude", "skills", "review");
    await mkdir(claude, { recursive: true });
    await writeFile(
      join(claude, "SKILL.md"),
      "---\nname: review\ndescription: Reviews code\n---\nBody\n",
    );
    const codexOwn = join(home, ".codex", "skills", "other");
    await mkdir(codexOwn, { recursive: true });
    await writeFile(join(codexOwn, "SKILL.md"), "# Other\nDoes other things\n");
    const list = SkillsList.parse(
      JSON.parse(ok(await runner.run({ key: "skills.list", args: {}, taskId: null })).stdout),
    );
    expect(list.skills).toEqual([
      {
        name: "other",
        description: "Does other things",
        locations: [{ folder: "~/.codex/skills", link: false }],
        unified: false,
      },
      {
        name: "review",
        description: "Reviews code",
        locations: [{ folder: "~/.claude/skills", link: false }],
        unified: false,
      },
    ]);
    const linked = SkillsLink.parse(
      JSON.parse(
        ok(await runner.run({ key: "skills.link", args: { name: "review" }, taskId: null })).stdout,
      ),
    );
    expect(linked.actions.map((a) => [a.folder, a.action])).toEqual([
      ["~/.agents/skills", "moved"],
      ["~/.claude/skills", "linked"],
      ["~/.codex/skills", "linked"],
    ]);
    expect(await readFile(join(home, ".agents", "skills", "review", "SKILL.md"), "utf8")).toContain(
      "Reviews code",
    );
    expect(await readlink(join(home, ".codex", "skills", "review"))).toBe(
      join(home, ".agents", "skills", "review"),
    );
    const again = SkillsList.parse(
      JSON.parse(ok(await runner.run({ key: "skills.list", args: {}, taskId: null })).stdout),
    );
    expect(again.skills.find((s) => s.name === "review")?.unified).toBe(true);
  });

  it("refuses names that are paths and leaves a separate copy alone", async () => {
    const home = join(root, "user");
    for (const name of ["../x", "/etc", "a/b"]) {
      const outcome = await runner.run({ key: "skills.link", args: { name }, taskId: null });
      expect(outcome).toMatchObject({ ok: false, code: "invalid_args" });
    }
    // "dup" in two folders as two real copies: one becomes canonical, the other is a conflict.
    for (const folder of [".agents", ".claude"]) {
      await mkdir(join(home, folder, "skills", "dup"), { recursive: true });
      await writeFile(join(home, folder, "skills", "dup", "SKILL.md"), `# ${folder}\n`);
    }
    const linked = SkillsLink.parse(
      JSON.parse(
        ok(await runner.run({ key: "skills.link", args: { name: "dup" }, taskId: null })).stdout,
      ),
    );
    expect(linked.actions.find((a) => a.folder === "~/.claude/skills")?.action).toBe("conflict");
    expect(await readFile(join(home, ".claude", "skills", "dup", "SKILL.md"), "utf8")).toBe(
      "# .claude\n",
    );
    // A skill that is only a link to somewhere outside the folders is never moved.
    const elsewhere = join(root, "elsewhere-skill");
    await mkdir(elsewhere, { recursive: true });
    await symlink(elsewhere, join(home, ".claude", "skills", "linked-out"));
    const outcome = await runner.run({
      key: "skills.link",
      args: { name: "linked-out" },
      taskId: null,
    });
    expect(outcome).toMatchObject({ ok: false, code: "invalid_args" });
    expect((await lstat(elsewhere)).isDirectory()).toBe(true);
  });
});
