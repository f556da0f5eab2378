// Local stays local: what a cleanup on a local device without cloud backup keeps ON the device
// before it removes a task's working folder, and how a follow-up lays it out again. Nothing here
// talks to the platform.
//
// - a worktree task: its uncommitted and untracked changes become a commit on the hidden ref
//   `refs/wegent/snapshots/<task>` of the project's own repository (built with a temporary
//   index, `git commit-tree` and `update-ref`: the task branch, the main checkout's index and
//   working tree are never touched), and its Claude session files a pack under the executor's
//   home;
// - a scratch task: its folder and session files packed under the executor's home.
//
// The pack is the archive's own format (tar.gz, manifest, `workspace/…`, `claude/…`) at
// `<home>/snapshots/<task>.tar.gz`, with `<task>.json` beside it (its SHA-256 and size, checked
// again before it is unpacked, and the snapshot commit).
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readFile, realpath, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { git } from "../system/git";
import { type ArchiveContext, archiveSources, packTo } from "./archive";
import { WORKSPACE_PREFIX } from "./layout";
import { type WorkspaceRoots } from "./places";
import { type RestoreContext, RestoreError } from "./manifest";
import { locateTask, type TaskPlace, worktreeProject } from "./places";
import { restoreTask } from "./restore";

export const snapshotRef = (taskId: string) => `refs/wegent/snapshots/${taskId}`;

export class SnapshotError extends Error {
  readonly code = "snapshot_missing";
}

const Record = z.object({
  version: z.literal(1),
  kind: z.enum(["scratch", "worktree"]),
  /** The snapshot commit in the project's repository (worktree tasks). */
  commit: z
    .string()
    .regex(/^[0-9a-f]{40,64}$/)
    .nullable(),
  projectDir: z.string().max(4096).nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  createdAt: z.string().max(40),
});
type SnapshotRecord = z.infer<typeof Record>;

const snapshotsDir = (roots: WorkspaceRoots) => join(roots.homeDir, "snapshots");
const packPath = (roots: WorkspaceRoots, taskId: string) =>
  join(snapshotsDir(roots), `${taskId}.tar.gz`);
const recordPath = (roots: WorkspaceRoots, taskId: string) =>
  join(snapshotsDir(roots), `${taskId}.json`);

async function readRecord(roots: WorkspaceRoots, taskId: string): Promise<SnapshotRecord | null> {
  try {
    const raw = await readFile(recordPath(roots, taskId));
    if (raw.length > 64 * 1024) return null;
    const parsed = Record.safeParse(JSON.parse(raw.toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function hasSnapshot(roots: WorkspaceRoots, taskId: string): Promise<boolean> {
  return (await readRecord(roots, taskId)) !== null;
}

/**
 * Commits everything of the worktree `dir` that git would keep (tracked changes, untracked files
 * not ignored, deletions) on `refs/wegent/snapshots/<task>`, parent HEAD, through a temporary
 * index. The worktree's own index, its branch and the main checkout stay as they were.
 */
export async function snapshotCommit(
  dir: string,
  taskId: string,
  scratchDir: string,
): Promise<string> {
  await mkdir(scratchDir, { recursive: true });
  const index = join(scratchDir, `snapshot-index-${randomUUID()}`);
  const env = {
    GIT_INDEX_FILE: index,
    GIT_AUTHOR_NAME: "Wegent",
    GIT_AUTHOR_EMAIL: "wegent@localhost",
    GIT_COMMITTER_NAME: "Wegent",
    GIT_COMMITTER_EMAIL: "wegent@localhost",
  };
  try {
    const head = (await git(["rev-parse", "--verify", "HEAD^{commit}"], { cwd: dir, env })).stdout
      .toString("utf8")
      .trim();
    await git(["read-tree", head], { cwd: dir, env });
    await git(["add", "-A", "--", "."], { cwd: dir, env });
    const tree = (await git(["write-tree"], { cwd: dir, env })).stdout.toString("utf8").trim();
    const message = `wegent: snapshot of task ${taskId} (uncommitted and untracked files)`;
    const commit = (
      await git(["commit-tree", tree, "-p", head, "-m", message], { cwd: dir, env })
    ).stdout
      .toString("utf8")
      .trim();
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`git commit-tree gave "${commit}"`);
    await git(["update-ref", "-m", "wegent snapshot", snapshotRef(taskId), commit], {
      cwd: dir,
      env,
    });
    return commit;
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Keeps the task's state on this device (see the top of the file). Resolves once the pack and
 * its record are written (and, for a worktree, the ref points at the snapshot); the caller may
 * then remove the working folder.
 */
export async function snapshotTask(
  place: TaskPlace,
  context: ArchiveContext,
  maxBytes: number,
): Promise<void> {
  if (place.kind === "in_place") throw new SnapshotError("A project checkout is never removed.");
  const { roots, taskId } = context;
  let commit: string | null = null;
  let projectDir: string | null = null;
  if (place.kind === "worktree") {
    projectDir = await worktreeProject(place.dir);
    if (!projectDir) throw new SnapshotError("The task's worktree is not a worktree any more.");
    commit = await snapshotCommit(place.dir, taskId, join(roots.homeDir, "tmp"));
  }
  const listing = await archiveSources(place, context);
  // A worktree's files are in the snapshot commit: the pack holds its manifest and session.
  const sources =
    place.kind === "worktree"
      ? listing.sources.filter((s) => !s.name.startsWith(`${WORKSPACE_PREFIX}/`))
      : listing.sources;
  await mkdir(snapshotsDir(roots), { recursive: true, mode: 0o700 });
  const partial = `${packPath(roots, taskId)}.${randomUUID()}.partial`;
  const out = createWriteStream(partial, { mode: 0o600 });
  const opened = new Promise<void>((resolve, reject) => {
    out.once("open", () => resolve());
    out.once("error", reject);
  });
  try {
    await opened;
    const summary = await packTo(sources, maxBytes, (chunk) => {
      return new Promise<void>((resolve, reject) => {
        out.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
    });
    await new Promise<void>((resolve, reject) => {
      out.once("error", reject);
      out.end(() => resolve());
    });
    const record: SnapshotRecord = {
      version: 1,
      kind: place.kind,
      commit,
      projectDir,
      ...summary,
      createdAt: new Date().toISOString(),
    };
    await rename(partial, packPath(roots, taskId));
    await writeFile(recordPath(roots, taskId), JSON.stringify(record), { mode: 0o600 });
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Lays the task's snapshot out again on this device: the worktree recreated on its branch with
 * the snapshot's files in its working tree (uncommitted changes uncommitted, untracked files
 * untracked, deletions deleted), or the scratch folder; the session folder back. Then the pack,
 * its record and the ref are dropped.
 */
export async function restoreSnapshot(
  context: RestoreContext,
): Promise<{ files: number; place: "worktree" | "folder" }> {
  const { roots, taskId } = context;
  const record = await readRecord(roots, taskId);
  if (!record) {
    throw new SnapshotError("This device keeps no snapshot of the task's workspace.");
  }
  if (record.kind === "worktree") {
    const wanted = record.projectDir ? await realpath(record.projectDir).catch(() => null) : null;
    let offered = false;
    for (const p of context.projects()) {
      if (p.git && wanted && (await realpath(p.path).catch(() => null)) === wanted) offered = true;
    }
    if (!offered) {
      throw new SnapshotError(
        `The project ${record.projectDir ?? ""} is no longer offered on this device; the task's files stay on ${snapshotRef(taskId)} in that repository.`,
      );
    }
  }
  const result = await restoreTask(context, createReadStream(packPath(roots, taskId)), record);
  if (record.kind === "worktree") {
    const place = await locateTask(roots, taskId);
    if (result.place !== "worktree" || place.kind !== "worktree" || !record.commit) {
      throw new RestoreError("The task's worktree could not be recreated from its snapshot.");
    }
    await applySnapshot(place.dir, record.commit, join(roots.homeDir, "tmp"));
    await git(["update-ref", "-d", snapshotRef(taskId), record.commit], {
      cwd: place.dir,
    }).catch(() => undefined);
  }
  await rm(packPath(roots, taskId), { force: true });
  await rm(recordPath(roots, taskId), { force: true });
  return result;
}

/**
 * Writes what the snapshot commit changed against its parent (the branch commit it was taken
 * on) into the worktree `dir` through a temporary index, and deletes what it deleted. The
 * worktree's own index stays at the branch, so the changes show as uncommitted again; anything
 * committed to the branch since is left as it is.
 */
export async function applySnapshot(
  dir: string,
  commit: string,
  scratchDir: string,
): Promise<void> {
  const real = await realpath(dir);
  await mkdir(scratchDir, { recursive: true });
  const index = join(scratchDir, `snapshot-index-${randomUUID()}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(["read-tree", commit], { cwd: real, env });
    const changed = await git(
      [
        "diff-tree",
        "-r",
        "-z",
        "--no-renames",
        "--no-commit-id",
        "--name-status",
        `${commit}^`,
        commit,
      ],
      { cwd: real, env },
    );
    const fields = changed.stdout.toString("utf8").split("\0");
    const written: string[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const status = fields[i]!;
      const rel = fields[i + 1]!;
      const parts = rel.split("/");
      if (!rel || parts.some((p) => p === ".." || p === "." || p === ".git" || p === "")) continue;
      if (status !== "D") {
        written.push(rel);
        continue;
      }
      const path = join(real, ...parts);
      // Only a file whose folders are the worktree's own (no symlink on the way).
      const parent = await realpath(join(path, "..")).catch(() => null);
      if (parent !== join(real, ...parts.slice(0, -1))) continue;
      const info = await lstat(path).catch(() => null);
      if (info?.isFile() || info?.isSymbolicLink()) await unlink(path);
    }
    if (written.length > 0) {
      // git itself refuses to write through a symlinked folder of the worktree.
      await git(["checkout-index", "-f", "-z", "--stdin"], {
        cwd: real,
        env,
        input: Buffer.from(written.join("\0") + "\0"),
      });
    }
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Drops the task's snapshot for good (a deleted task, `workspace.forget`): its pack, its record
 * and the hidden ref, in the task's worktree repository (`repo`, when it still is one) or the
 * recorded project if this device still offers it. The task branch is never touched.
 */
export async function dropSnapshot(
  roots: WorkspaceRoots,
  taskId: string,
  projects: () => readonly { path: string; git: boolean }[],
  repo: string | null,
): Promise<{ pack: boolean; ref: boolean }> {
  const record = await readRecord(roots, taskId);
  const repos = new Set<string>(repo ? [repo] : []);
  const wanted = record?.projectDir ? await realpath(record.projectDir).catch(() => null) : null;
  for (const p of wanted ? projects() : []) {
    if (p.git && (await realpath(p.path).catch(() => null)) === wanted) repos.add(wanted!);
  }
  let ref = false;
  for (const dir of repos) {
    const held = await git(["rev-parse", "--verify", "-q", snapshotRef(taskId)], {
      cwd: dir,
      allow: [1],
    }).catch(() => null);
    if (held?.code !== 0) continue;
    await git(["update-ref", "-d", snapshotRef(taskId)], { cwd: dir });
    ref = true;
  }
  const pack = (await lstat(packPath(roots, taskId)).catch(() => null)) !== null;
  await rm(packPath(roots, taskId), { force: true });
  await rm(recordPath(roots, taskId), { force: true });
  return { pack: pack || record !== null, ref };
}
