import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  realpath,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  snapshotFolder,
  type TaskWorkspace,
  workspaceFile,
  workspaceRevert,
} from "../src/workspace/changes";

// Many git processes per test: sized for a loaded 2-core CI machine, not an idle laptop.
vi.setConfig({ testTimeout: 30_000 });

// The Changes tab's file reads and reverts run in the executor (root in cloud mode), outside
// the agent's sandbox, in a folder the agent can change meanwhile: a folder swapped for a link
// out of the workspace must never be read, written or deleted through.
const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function scratch(files: Record<string, string>) {
  const root = await realpath(await mkdtemp(join(tmpdir(), "wegent-pinned-")));
  roots.push(root);
  const dir = join(root, "ws");
  const outside = join(root, "outside");
  await mkdir(outside);
  await writeFile(join(outside, "x"), "secret");
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const stateDir = join(root, "state");
  const base = await snapshotFolder(dir, stateDir, true);
  const ws: TaskWorkspace = { dir, stateDir, base, sandboxed: true };
  return { root, dir, outside, ws };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return "succeeded";
}

describe("workspace file and revert through a folder swapped for a link", () => {
  it("refuses to read, restore or delete through it and touches nothing outside", async () => {
    const { dir, outside, ws } = await scratch({ "d/x": "mine", "d/y": "base y" });
    // The agent swaps its folder `d` for a link out of the workspace.
    await rm(join(dir, "d"), { recursive: true });
    await symlink(outside, join(dir, "d"));
    await writeFile(join(outside, "victim"), "keep me");

    expect(await failure(workspaceFile(ws, "d/x", false))).toBe("path_outside");
    // d/y is in the base and missing outside: a restore would create it there.
    expect(await failure(workspaceRevert(ws, "d/y"))).toBe("path_outside");
    // d/x is in the base: a restore would overwrite the outside file.
    expect(await failure(workspaceRevert(ws, "d/x"))).toBe("path_outside");
    // victim is not in the base: a revert deletes it.
    expect(await failure(workspaceRevert(ws, "d/victim"))).toBe("path_outside");

    expect((await readdir(outside)).sort()).toEqual(["victim", "x"]);
    expect(await readFile(join(outside, "x"), "utf8")).toBe("secret");
    expect(await readFile(join(outside, "victim"), "utf8")).toBe("keep me");
  });

  it("never reaches outside while the agent swaps the folder back and forth", async () => {
    const { dir, outside, root, ws } = await scratch({ "d/x": "mine", "d/y": "base y" });
    await writeFile(join(dir, "d", "victim"), "not in the base");
    // The agent's side: `d` is a folder, then a link out of the workspace, over and over.
    const swap = `const fs = require("fs"); const [d, real, out] = process.argv.slice(1);
      for (;;) for (const step of [() => fs.renameSync(d, real), () => fs.symlinkSync(out, d),
        () => fs.unlinkSync(d), () => fs.renameSync(real, d)]) { try { step(); } catch {} }`;
    const swapper = spawn(process.execPath, [
      "-e",
      swap,
      join(dir, "d"),
      join(root, "real"),
      outside,
    ]);
    const escapes: string[] = [];
    try {
      const until = Date.now() + 4000;
      for (let i = 0; i < 300 && Date.now() < until && escapes.length === 0; i++) {
        await writeFile(join(outside, "victim"), "keep me");
        const read = await workspaceFile(ws, "d/x", false).catch(() => null);
        if (read?.content === "secret") escapes.push("read outside/x");
        await workspaceRevert(ws, "d/victim").catch(() => null);
        if (!existsSync(join(outside, "victim"))) escapes.push("deleted outside/victim");
        await workspaceRevert(ws, "d/y").catch(() => null);
        if (existsSync(join(outside, "y"))) escapes.push("wrote outside/y");
      }
    } finally {
      swapper.kill("SIGKILL");
    }
    expect(escapes).toEqual([]);
    expect(await readFile(join(outside, "x"), "utf8")).toBe("secret");
  });

  it("refuses a path with `..`, an empty part or git's own folder", async () => {
    const { ws } = await scratch({ "a.txt": "a" });
    for (const path of ["../outside/x", "a/../../x", "/etc/passwd", "a//b", ".git/config"]) {
      expect(await failure(workspaceFile(ws, path, false))).toBe("path_outside");
      expect(await failure(workspaceRevert(ws, path))).toBe("path_outside");
    }
  });

  it("answers a FIFO promptly instead of blocking a thread on it", async () => {
    const { dir, ws } = await scratch({ "a.txt": "a" });
    execFileSync("mkfifo", [join(dir, "pipe")]);
    // Each blocked open would hold one of libuv's four threads for good.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("blocked"), 3000));
      answers.push(await Promise.race([failure(workspaceFile(ws, "pipe", false)), timeout]));
    }
    expect(answers).toEqual(Array(6).fill("invalid_args"));
  });
});

describe("workspace revert restores the base", () => {
  it("puts back files, nested folders, an executable's mode and a symlink", async () => {
    const { dir, root, ws } = await scratch({
      "top.txt": "top\n",
      "a/b/c.txt": "deep\n",
      "run.sh": "#!/bin/sh\necho hi\n",
    });
    execFileSync("chmod", ["755", join(dir, "run.sh")]);
    await symlink("a/b/c.txt", join(dir, "link"));
    const base = await snapshotFolder(dir, join(root, "state"), true);
    const live = { ...ws, base };
    // The agent's changes: a folder gone, an executable rewritten as plain, a link retargeted.
    await rm(join(dir, "a"), { recursive: true });
    await rm(join(dir, "run.sh"));
    await writeFile(join(dir, "run.sh"), "changed", { mode: 0o644 });
    await rm(join(dir, "link"));
    await symlink("/etc/passwd", join(dir, "link"));
    await writeFile(join(dir, "top.txt"), "edited\n");
    await writeFile(join(dir, "new.txt"), "new\n");

    for (const path of ["a/b/c.txt", "run.sh", "link", "top.txt"]) {
      expect(await workspaceRevert(live, path)).toEqual({ path, action: "restored" });
    }
    expect(await workspaceRevert(live, "new.txt")).toEqual({ path: "new.txt", action: "removed" });
    expect(await workspaceRevert(live, "gone.txt")).toEqual({
      path: "gone.txt",
      action: "unchanged",
    });
    expect(await readFile(join(dir, "a/b/c.txt"), "utf8")).toBe("deep\n");
    expect(await readFile(join(dir, "top.txt"), "utf8")).toBe("top\n");
    expect(await readFile(join(dir, "run.sh"), "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect((await lstat(join(dir, "run.sh"))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(dir, "top.txt"))).mode & 0o777).toBe(0o644);
    expect(await readlink(join(dir, "link"))).toBe("a/b/c.txt");
    await expect(lstat(join(dir, "new.txt"))).rejects.toThrow();
    // The current side reads through the pinned walk too.
    expect((await workspaceFile(live, "a/b/c.txt", false)).content).toBe("deep\n");
    expect(await failure(workspaceFile(live, "a", false))).toBe("invalid_args");
    expect(await failure(workspaceRevert(live, "a"))).toBe("invalid_args");
  });

  it.runIf(process.getuid?.() === 0)(
    "as root, gives what it creates to the workspace folder's owner",
    async () => {
      const { dir, ws } = await scratch({ "a/b/c.txt": "deep\n", "l.txt": "l" });
      await symlink("l.txt", join(dir, "ln"));
      const base = await snapshotFolder(dir, ws.stateDir, true);
      await rm(join(dir, "a"), { recursive: true });
      await rm(join(dir, "ln"));
      execFileSync("chown", ["-R", "4242:4343", dir]);
      await chown(dir, 4242, 4343);
      await workspaceRevert({ ...ws, base }, "a/b/c.txt");
      await workspaceRevert({ ...ws, base }, "ln");
      for (const path of ["a", "a/b", "a/b/c.txt", "ln"]) {
        const info = await lstat(join(dir, path));
        expect([path, info.uid, info.gid]).toEqual([path, 4242, 4343]);
      }
    },
  );
});
