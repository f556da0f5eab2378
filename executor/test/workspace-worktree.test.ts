import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { describe, expect, it } from "vitest";
import { TaskWorkspaces } from "../src/workspace/places";
import { archiveSources, archiveTask } from "../src/workspace/archive";
import { ArchiveClient } from "../src/workspace/client";
import { cleanup } from "../src/workspace/cleanup";
import { MANIFEST } from "../src/workspace/layout";
import { claudeProjectName, type WorkspaceRoots } from "../src/workspace/places";
import { locateTask } from "../src/workspace/places";
import { restoreTask } from "../src/workspace/restore";
import { type TarSource, tarStream } from "../src/workspace/tar";
import { sh } from "./git-helpers";

// Project tasks (issue #13): a task's git worktree, or a project directory used in place, with
// real git repositories made here, archived through an in-memory stand-in for the Worker.

const TASK = "abcdef12-2222-4333-8444-555555555555";
const SHORT = TASK.slice(0, 8);

/** Upload routes in memory (through the client's fetch option). */
function memoryClient() {
  const parts = new Map<number, Buffer>();
  const state = { stored: null as Buffer | null };
  const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const part = /\/parts\/(\d+)$/.exec(url.pathname);
    const json = (value: unknown) => new Response(JSON.stringify(value), { status: 200 });
    if (part) {
      parts.set(Number(part[1]), Buffer.from(init!.body as Uint8Array));
      return json({ partNumber: Number(part[1]), etag: `e${part[1]}` });
    }
    if (url.pathname.endsWith("/uploads")) return json({ uploadId: "u", nonce: "n" });
    if (url.pathname.endsWith("/complete")) {
      const body = JSON.parse(String(init!.body)) as { parts: { partNumber: number }[] };
      state.stored = Buffer.concat(body.parts.map((p) => parts.get(p.partNumber)!));
      const sha256 = createHash("sha256").update(state.stored).digest("hex");
      return json({ size: state.stored.length, sha256, files: 0, createdAt: "2026-11-29" });
    }
    return json({});
  }) as typeof globalThis.fetch;
  const client = new ArchiveClient({
    backendUrl: "http://archive.test",
    grant: "g",
    taskId: TASK,
    fetch: fakeFetch,
  });
  return { client, state };
}

async function gzipTar(sources: TarSource[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gzip = createGzip();
  gzip.on("data", (c: Buffer) => chunks.push(c));
  await pipeline(Readable.from(tarStream(sources)), gzip);
  return Buffer.concat(chunks);
}

const sum = (buf: Buffer) => ({
  sha256: createHash("sha256").update(buf).digest("hex"),
  size: buf.length,
});

/** A machine with a git project, a task worktree in it, and Claude sessions of the owner. */
async function machine(name = "a") {
  const root = realpathSync(mkdtempSync(join(tmpdir(), `wegent-wt-${name}-`)));
  const project = join(root, "project");
  mkdirSync(project);
  sh(project, "init", "-q", "-b", "main");
  writeFileSync(join(project, "a.txt"), "original\n");
  writeFileSync(join(project, "b.txt"), "to delete\n");
  writeFileSync(join(project, ".gitignore"), "ignored.log\n");
  sh(project, "add", "-A");
  sh(project, "commit", "-q", "-m", "start");
  const roots: WorkspaceRoots = {
    workspaceRoot: join(root, "workspaces"),
    homeDir: join(root, "home"),
    claudeProjectsRoot: join(root, "claude", "projects"),
  };
  const dir = join(roots.homeDir, "worktrees", "p_test", SHORT);
  mkdirSync(join(roots.homeDir, "worktrees", "p_test"), { recursive: true });
  sh(project, "worktree", "add", "-q", "-b", `wegent/${SHORT}`, dir, "HEAD");
  const secret = join(root, "ssh");
  mkdirSync(secret);
  writeFileSync(join(secret, "id_rsa"), "PRIVATE KEY");
  const projects = [{ id: "p_test", path: project, git: true }];
  const sessions = (cwd: string) => join(roots.claudeProjectsRoot!, claudeProjectName(cwd));
  mkdirSync(sessions(project), { recursive: true });
  writeFileSync(join(sessions(project), "owner-own.jsonl"), '{"secret":"owner"}\n');
  return { root, project, roots, dir, secret, projects, sessions };
}

/** The agent's work in the worktree, and its session file. */
function work(m: Awaited<ReturnType<typeof machine>>) {
  writeFileSync(join(m.dir, "a.txt"), "changed\n");
  writeFileSync(join(m.dir, "new.txt"), "agent wrote this\n");
  writeFileSync(join(m.dir, "ignored.log"), "ignored\n");
  rmSync(join(m.dir, "b.txt"));
  mkdirSync(join(m.dir, "node_modules", "x"), { recursive: true });
  writeFileSync(join(m.dir, "node_modules", "x", "i.js"), "cache");
  symlinkSync(m.secret, join(m.dir, "keys"));
  symlinkSync(join(m.secret, "id_rsa"), join(m.dir, "key.txt"));
  mkdirSync(m.sessions(m.dir), { recursive: true });
  writeFileSync(
    join(m.sessions(m.dir), "s1.jsonl"),
    `${JSON.stringify({ type: "user", cwd: m.dir, message: { content: "hi" } })}\n`,
  );
}

describe("project task workspaces (executor)", () => {
  it("archives what git keeps in a worktree plus the task's session; nothing outside", async () => {
    const m = await machine();
    work(m);
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const place = await locateTask(m.roots, TASK);
    expect(place).toMatchObject({ kind: "worktree", dir: m.dir, branch: `wegent/${SHORT}` });
    const listing = await archiveSources(place, { roots: m.roots, taskId: TASK, deviceId: "d1" });
    const names = listing.sources.map((s) => s.name).sort();
    const folder = claudeProjectName(m.dir);
    expect(names).toEqual(
      [
        MANIFEST,
        "workspace/.gitignore",
        "workspace/a.txt",
        "workspace/new.txt",
        `claude/${folder}/s1.jsonl`,
      ].sort(),
    );
    const manifest = JSON.parse(listing.sources.find((s) => s.name === MANIFEST)!.data!.toString());
    expect(manifest).toMatchObject({
      kind: "worktree",
      branch: `wegent/${SHORT}`,
      projectDir: m.project,
    });
  });

  it("cleanup archives then removes only the worktree (branch kept); a restore brings it back", async () => {
    const m = await machine();
    work(m);
    sh(m.dir, "add", "new.txt");
    sh(m.dir, "commit", "-q", "-m", "agent commit");
    writeFileSync(join(m.dir, "later.txt"), "uncommitted\n");
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const { client, state } = memoryClient();
    const hooks = {
      running: () => false,
      archive: async (taskId: string, place: Parameters<typeof archiveTask>[0]) => {
        await archiveTask(place, { roots: m.roots, taskId, deviceId: "d1" }, client, 1 << 24);
      },
      removed: async () => undefined,
    };
    const later = Date.now() + 3 * 3600_000;
    const dry = await cleanup(m.roots, { olderThanHours: 1, dryRun: true }, hooks, later);
    expect(dry.entries).toEqual([
      expect.objectContaining({ taskId: TASK, outcome: "would_remove" }),
    ]);
    expect(dry.workspaces).toBe(1);
    expect(dry.totalBytes).toBeGreaterThan(0);
    const done = await cleanup(m.roots, { olderThanHours: 1, dryRun: false }, hooks, later);
    expect(done.entries[0]).toMatchObject({ outcome: "removed" });
    expect(existsSync(m.dir)).toBe(false);
    expect(sh(m.project, "branch", "--list", `wegent/${SHORT}`)).toContain(`wegent/${SHORT}`);
    expect(readFileSync(join(m.project, "a.txt"), "utf8")).toBe("original\n");
    expect(existsSync(join(m.project, "b.txt"))).toBe(true);
    rmSync(m.sessions(m.dir), { recursive: true });

    const stored = state.stored!;
    const restored = await restoreTask(
      { roots: m.roots, taskId: TASK, deviceId: "d1", projects: () => m.projects },
      Readable.from([stored]),
      sum(stored),
    );
    expect(restored.place).toBe("worktree");
    expect(sh(m.dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe(`wegent/${SHORT}`);
    expect(sh(m.dir, "log", "-1", "--format=%s")).toBe("agent commit");
    expect(readFileSync(join(m.dir, "later.txt"), "utf8")).toBe("uncommitted\n");
    expect(readFileSync(join(m.dir, "a.txt"), "utf8")).toBe("changed\n");
    expect(readFileSync(join(m.sessions(m.dir), "s1.jsonl"), "utf8")).toContain('"hi"');
    expect(readFileSync(join(m.project, "a.txt"), "utf8")).toBe("original\n");
  });

  it("recreates the worktree from the recorded base commit when its branch is gone", async () => {
    const m = await machine();
    const base = sh(m.project, "rev-parse", "HEAD");
    work(m);
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    // The project moves on meanwhile: the base must come from the record, not the project HEAD.
    writeFileSync(join(m.project, "later-on-main.txt"), "main moved\n");
    sh(m.project, "add", "-A");
    sh(m.project, "commit", "-q", "-m", "main moves on");
    const { client, state } = memoryClient();
    const place = await locateTask(m.roots, TASK);
    await archiveTask(place, { roots: m.roots, taskId: TASK, deviceId: "d1" }, client, 1 << 24);
    sh(m.project, "worktree", "remove", "--force", m.dir);
    sh(m.project, "branch", "-D", `wegent/${SHORT}`);
    const stored = state.stored!;
    const restored = await restoreTask(
      { roots: m.roots, taskId: TASK, deviceId: "d1", projects: () => m.projects },
      Readable.from([stored]),
      sum(stored),
    );
    expect(restored.place).toBe("worktree");
    expect(sh(m.dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe(`wegent/${SHORT}`);
    expect(sh(m.dir, "rev-parse", "HEAD")).toBe(base);
    expect(existsSync(join(m.dir, "later-on-main.txt"))).toBe(false);
    expect(readFileSync(join(m.dir, "new.txt"), "utf8")).toBe("agent wrote this\n");
  });

  it("on another device the worktree comes back as a git folder with the session moved to its cwd", async () => {
    const m = await machine();
    work(m);
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const { client, state } = memoryClient();
    const place = await locateTask(m.roots, TASK);
    await archiveTask(place, { roots: m.roots, taskId: TASK, deviceId: "d1" }, client, 1 << 24);
    const other = await machine("b");
    const stored = state.stored!;
    const restored = await restoreTask(
      // Same projects as the first machine: still another device, so a folder.
      { roots: other.roots, taskId: TASK, deviceId: "d2", projects: () => m.projects },
      Readable.from([stored]),
      sum(stored),
    );
    expect(restored.place).toBe("folder");
    const cwd = join(other.roots.workspaceRoot, TASK);
    expect(readFileSync(join(cwd, "new.txt"), "utf8")).toBe("agent wrote this\n");
    expect(sh(cwd, "rev-parse", "--abbrev-ref", "HEAD")).toBe(`wegent/${SHORT}`);
    expect(sh(cwd, "status", "--porcelain")).toBe("");
    const session = readFileSync(join(other.sessions(cwd), "s1.jsonl"), "utf8");
    expect(JSON.parse(session).cwd).toBe(cwd);
    // The first machine's worktree was not touched by the other's restore.
    expect(existsSync(join(m.dir, "new.txt"))).toBe(true);
  });

  it("a task run in the project directory is never removed; its archive holds only its sessions", async () => {
    const m = await machine();
    writeFileSync(join(m.sessions(m.project), "task-own.jsonl"), '{"task":1}\n');
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.project);
    const place = await locateTask(m.roots, TASK);
    expect(place.kind).toBe("in_place");
    const listing = await archiveSources(place, {
      roots: m.roots,
      taskId: TASK,
      deviceId: "d1",
      sessionIds: ["task-own", "../../x"],
    });
    const names = listing.sources.map((s) => s.name);
    expect(names).toContain(`claude/${claudeProjectName(m.project)}/task-own.jsonl`);
    expect(names.some((n) => n.includes("owner-own"))).toBe(false);
    expect(names.some((n) => n.includes(".git/"))).toBe(false);
    let archived = 0;
    const hooks = {
      running: () => false,
      archive: async () => void (archived += 1),
      removed: async () => undefined,
    };
    const report = await cleanup(
      m.roots,
      { olderThanHours: 0, dryRun: false },
      hooks,
      Date.now() + 1e8,
    );
    expect(report.entries).toEqual([
      expect.objectContaining({ taskId: TASK, outcome: "kept", reason: "project checkout" }),
    ]);
    expect(archived).toBe(0);
    expect(readFileSync(join(m.project, "a.txt"), "utf8")).toBe("original\n");
  });
});

describe("crafted archives (executor)", () => {
  const file = (name: string, text: string): TarSource => {
    const data = Buffer.from(text);
    return { name, data, kind: "file", size: data.length, mode: 0o644, mtimeMs: Date.now() };
  };
  /** A worktree manifest as device d1 writes it, for `dir` of `projectDir`. */
  const worktreeManifest = (dir: string, projectDir: string) =>
    file(
      MANIFEST,
      JSON.stringify({
        version: 1,
        kind: "worktree",
        deviceId: "d1",
        dir,
        branch: "x",
        base: null,
        projectDir,
      }),
    );
  /** Restores the gzipped tar of `entries` as TASK on `m`, as device `deviceId`. */
  const restoreCrafted = async (
    m: Awaited<ReturnType<typeof machine>>,
    entries: TarSource[],
    deviceId = "d1",
    projects: () => typeof m.projects = () => m.projects,
  ) => {
    const buf = await gzipTar(entries);
    return restoreTask(
      { roots: m.roots, taskId: TASK, deviceId, projects },
      Readable.from([buf]),
      sum(buf),
    );
  };

  it("refuses an archive writing into the worktree's .git, and changes nothing", async () => {
    const m = await machine();
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    await expect(
      restoreCrafted(m, [
        worktreeManifest(m.dir, m.project),
        file("workspace/ok.txt", "fine"),
        file("workspace/.git/hooks/post-checkout", "#!/bin/sh\ntouch /tmp/pwned\n"),
      ]),
    ).rejects.toThrow(/\.git/);
    expect(existsSync(join(m.dir, "ok.txt"))).toBe(false);
  });

  it("does not follow a symlinked folder of the worktree, nor write another project's sessions", async () => {
    const m = await machine();
    symlinkSync(m.secret, join(m.dir, "keys"));
    await expect(
      restoreCrafted(m, [
        worktreeManifest(m.dir, m.project),
        file("workspace/keys/authorized_keys", "attacker key"),
      ]),
    ).rejects.toThrow(/not a folder/);
    expect(readdirSync(m.secret)).toEqual(["id_rsa"]);

    // A folder archive naming the owner's project session folder next to the task's own.
    const owner = claudeProjectName(m.project);
    await restoreCrafted(
      m,
      [
        file("workspace/x.txt", "x"),
        file(`claude/${owner}/owner-own.jsonl`, "overwritten"),
        file(`claude/-elsewhere-${TASK}/s.jsonl`, "{}"),
      ],
      "d2",
      () => [],
    );
    expect(readFileSync(join(m.sessions(m.project), "owner-own.jsonl"), "utf8")).toBe(
      '{"secret":"owner"}\n',
    );
    expect(existsSync(join(m.sessions(join(m.roots.workspaceRoot, TASK)), "s.jsonl"))).toBe(true);
  });

  it("a manifest naming a folder that is no project of this device restores as a plain folder", async () => {
    const m = await machine();
    const out = await restoreCrafted(m, [
      worktreeManifest("/etc", "/etc"),
      file("workspace/f.txt", "f"),
    ]);
    expect(out.place).toBe("folder");
    expect(readFileSync(join(m.roots.workspaceRoot, TASK, "f.txt"), "utf8")).toBe("f");
  });

  it("never reads through a file swapped for a symlink after it was listed", async () => {
    const m = await machine();
    work(m);
    await new TaskWorkspaces(m.roots.homeDir, m.roots.workspaceRoot).record(TASK, m.dir);
    const place = await locateTask(m.roots, TASK);
    const listing = await archiveSources(place, { roots: m.roots, taskId: TASK, deviceId: "d1" });
    // Between listing and reading, new.txt becomes a link to the private key (same size).
    rmSync(join(m.dir, "new.txt"));
    writeFileSync(join(m.secret, "id_rsa"), "agent wrote this\n");
    symlinkSync(join(m.secret, "id_rsa"), join(m.dir, "new.txt"));
    const read = async () => {
      for await (const chunk of tarStream(listing.sources)) void chunk;
    };
    await expect(read()).rejects.toThrow(/ELOOP|symbolic link/);
  });
});
