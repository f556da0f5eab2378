// workspace.status / diff / file / revert: what the agent changed in a task's workspace,
// against its base. A git checkout (a project's worktree) is compared with its base commit; a
// scratch folder with an empty base kept in a separate git dir, so the agent never sees a repo.
// When agents are sandboxed (cloud mode) every folder is a scratch folder: a repo the agent made
// there (its config, filters, drivers, core.worktree, a `.git` file) is never used.
// Diffs are taken through a throw-away index: the user's own index is never touched.
import { randomUUID } from "node:crypto";
import { lstat, mkdir, readdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ChangedFile, WorkspaceDiff, WorkspaceFile, WorkspaceStatus } from "@wegent/protocol";
import { WORKSPACE_FILE_MAX_BYTES } from "@wegent/protocol";
import { CommandError, type GitOptions, git } from "../system/git";
import {
  addPathspecs,
  COMPARE_MAX_BYTES,
  type LargeFile,
  largeChanges,
  largeFiles,
  readLargeBase,
  writeLargeBase,
} from "../system/large-files";
import {
  components,
  type Entry,
  readPinned,
  removePinned,
  writePinned,
} from "../system/pinned-path";

/** Where a task works, as the executor knows it. */
export interface TaskWorkspace {
  dir: string;
  /** Base commit of a git worktree (default HEAD); ignored for scratch folders. */
  base?: string;
  /** Where a scratch folder's baseline git dir and throw-away indexes go. */
  stateDir: string;
  /**
   * The agent runs sandboxed as someone else (cloud mode): the folder is never used as a git
   * checkout, only through the executor's own baseline git dir, with no config of the agent's.
   */
  sandboxed?: boolean;
  /** Files larger than this are not compared (default COMPARE_MAX_BYTES). */
  compareMaxBytes?: number;
}

/** Largest unified diff one answer carries (it must fit the device socket's frame). */
export const DIFF_MAX_BYTES = 640 * 1024;
const MAX_FILES = 2000;
/** No external diff program, no textconv driver, whatever a config or `.gitattributes` says. */
const DIFF_SAFE = ["--no-ext-diff", "--no-textconv"] as const;

interface Repo {
  git: boolean;
  dir: string;
  base: string;
  /** Leading git arguments: `-C dir` or `--git-dir … --work-tree …`. */
  args: string[];
  stateDir: string;
  sandboxed: boolean;
  compareMaxBytes: number;
}

async function openRepo(ws: TaskWorkspace): Promise<Repo> {
  const dir = await realpath(ws.dir).catch(() => {
    throw new CommandError("task_not_found", "the task's workspace does not exist on this device");
  });
  await mkdir(ws.stateDir, { recursive: true });
  const top = ws.sandboxed
    ? null
    : await git(["rev-parse", "--show-toplevel"], { cwd: dir, allow: [128] }).catch(() => null);
  const topDir = top && top.code === 0 ? top.stdout.toString("utf8").trim() : null;
  if (topDir && (await realpath(topDir).catch(() => null)) === dir) {
    const head = await git(["rev-parse", "--verify", "-q", `${ws.base ?? "HEAD"}^{commit}`], {
      cwd: dir,
      allow: [1],
    });
    const base = head.code === 0 ? head.stdout.toString("utf8").trim() : await emptyTree(dir, []);
    const { stateDir } = ws;
    const limit = ws.compareMaxBytes ?? COMPARE_MAX_BYTES;
    return { git: true, dir, base, args: [], stateDir, sandboxed: false, compareMaxBytes: limit };
  }
  const args = await baselineArgs(dir, ws.stateDir);
  const base = ws.base ?? (await emptyTree(dir, args));
  const sandboxed = ws.sandboxed === true;
  const compareMaxBytes = ws.compareMaxBytes ?? COMPARE_MAX_BYTES;
  return { git: false, dir, base, args, stateDir: ws.stateDir, sandboxed, compareMaxBytes };
}

/** git on the repo: a baseline git dir runs isolated (no config but its own). */
function run(repo: Repo, args: string[], options: Omit<GitOptions, "cwd"> = {}) {
  return git([...repo.args, ...args], { cwd: repo.dir, isolated: !repo.git, ...options });
}

/**
 * The executor's own git dir for a folder, with the folder as its work tree: git skips any
 * `.git` (dir or file) in the folder, so a repo the agent made there plays no part.
 */
async function baselineArgs(dir: string, stateDir: string): Promise<string[]> {
  const gitDir = join(stateDir, "baseline.git");
  await git(["init", "-q", "--bare", gitDir], { cwd: stateDir, isolated: true });
  return ["--git-dir", gitDir, "--work-tree", dir];
}

/**
 * The base of a folder that is not a git checkout (a non-git project worked in place): a tree
 * of its files as they are now, kept in the task's own baseline git dir. Returns its id.
 */
export async function snapshotFolder(
  dir: string,
  stateDir: string,
  sandboxed = false,
  compareMaxBytes = COMPARE_MAX_BYTES,
): Promise<string> {
  await mkdir(stateDir, { recursive: true });
  const args = await baselineArgs(dir, stateDir);
  const index = join(stateDir, `index-${randomUUID()}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    // Files over the limit stay out of the base (never read); their sizes are kept beside it.
    const large = await listLarge(args, dir, env, true, compareMaxBytes);
    await writeLargeBase(stateDir, large);
    await addAll(args, dir, env, true, large);
    if (sandboxed) await dropNestedRepos(args, dir, env);
    const tree = await git([...args, "write-tree"], { cwd: dir, env, isolated: true });
    return tree.stdout.toString("utf8").trim();
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Takes the nested repos `add` recorded (as their HEAD commit) out of an index: a `.git` file
 * in a sandboxed agent's folder may name another tenant's repo, whose HEAD is not the agent's.
 */
async function dropNestedRepos(args: string[], cwd: string, env: Record<string, string>) {
  const entries = splitZ(
    (await git([...args, "ls-files", "-s", "-z"], { cwd, env, isolated: true })).stdout,
  );
  const nested = entries
    .filter((entry) => entry.startsWith("160000 "))
    .map((entry) => entry.slice(entry.indexOf("\t") + 1));
  if (nested.length === 0) return;
  const input = Buffer.from(nested.map((path) => `${path}\0`).join(""));
  const remove = [...args, "update-index", "--force-remove", "-z", "--stdin"];
  await git(remove, { cwd, env, input, isolated: true });
}

/** The files `git add -A` would take now that are over the limit. */
async function listLarge(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  isolated: boolean,
  limit: number,
): Promise<LargeFile[]> {
  const listed = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"];
  const paths = splitZ((await git([...args, ...listed], { cwd, env, isolated })).stdout);
  return largeFiles(cwd, paths, limit);
}

/** `git add -A` of the folder, leaving the large files out (they are never read). */
async function addAll(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  isolated: boolean,
  large: LargeFile[],
) {
  const add = [...args, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"];
  await git(add, { cwd, env, isolated, input: addPathspecs(large) });
}

async function emptyTree(cwd: string, args: string[]): Promise<string> {
  const out = await git([...args, "mktree"], {
    cwd,
    input: Buffer.alloc(0),
    isolated: args.length > 0,
  });
  return out.stdout.toString("utf8").trim();
}

/** One snapshot at a time per task: they share the task's view objects (below). */
const snapshotting = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` with a throw-away index holding the workspace's current files, and the large files
 * (over the limit, never read) as marker entries. A folder's changed files are written to the
 * task's own `view-objects` (the baseline's objects as an alternate), never to `baseline.git`:
 * an unchanged file is not written again at the next call, and after each call only the
 * objects the current files need are kept. So the task's store is its base plus one copy of
 * each file changed now, however often the Changes tab refreshes.
 */
async function withSnapshot<T>(
  repo: Repo,
  fn: (env: Record<string, string>, large: ChangedFile[]) => Promise<T>,
): Promise<T> {
  const key = repo.stateDir;
  const before = snapshotting.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => snapshot(repo, fn));
  const tail = mine.catch(() => undefined);
  snapshotting.set(key, tail);
  void tail.then(() => {
    if (snapshotting.get(key) === tail) snapshotting.delete(key);
  });
  return mine;
}

async function snapshot<T>(
  repo: Repo,
  fn: (env: Record<string, string>, large: ChangedFile[]) => Promise<T>,
): Promise<T> {
  await removeStrayIndexes(repo.stateDir);
  const index = join(repo.stateDir, `index-${randomUUID()}`);
  const env: Record<string, string> = { GIT_INDEX_FILE: index };
  const view = join(repo.stateDir, "view-objects");
  if (!repo.git) {
    await mkdir(view, { recursive: true });
    env.GIT_OBJECT_DIRECTORY = view;
    env.GIT_ALTERNATE_OBJECT_DIRECTORIES = join(repo.stateDir, "baseline.git", "objects");
  }
  let keep: Set<string> | null = null;
  try {
    await run(repo, ["read-tree", repo.base], { env });
    const large = await listLarge(repo.args, repo.dir, env, !repo.git, repo.compareMaxBytes);
    await addAll(repo.args, repo.dir, env, !repo.git, large);
    if (repo.sandboxed) await dropNestedRepos(repo.args, repo.dir, env);
    const markers = await largeChanges(
      large,
      repo.git ? new Map() : await readLargeBase(repo.stateDir),
      (path) => blobSize(repo, `${repo.base}:${path}`),
      (path) =>
        lstat(join(repo.dir, path)).then(
          () => true,
          () => false,
        ),
    );
    const result = await fn(env, markers);
    if (!repo.git) keep = await indexedObjects(repo, env);
    return result;
  } finally {
    await rm(index, { force: true });
    await rm(`${index}.lock`, { force: true });
    if (!repo.git) await pruneView(view, keep ?? new Set());
  }
}

async function blobSize(repo: Repo, spec: string): Promise<number | null> {
  const out = await run(repo, ["cat-file", "-s", spec], { allow: [1, 128] });
  return out.code === 0 ? Number(out.stdout.toString().trim()) : null;
}

/** The object ids the index names (its blobs). */
async function indexedObjects(repo: Repo, env: Record<string, string>): Promise<Set<string>> {
  const entries = splitZ((await run(repo, ["ls-files", "-s", "-z"], { env })).stdout);
  return new Set(entries.map((entry) => entry.split(" ")[1] ?? ""));
}

/** Removes every object of the view that `keep` does not name (and git's leftovers). */
async function pruneView(view: string, keep: Set<string>): Promise<void> {
  for (const folder of await readdir(view).catch(() => [] as string[])) {
    const path = join(view, folder);
    if (!/^[0-9a-f]{2}$/.test(folder)) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    for (const name of await readdir(path).catch(() => [] as string[])) {
      if (!keep.has(folder + name)) await rm(join(path, name), { force: true });
    }
  }
}

/** Indexes left by a call that was killed (an executor crash) would stay for good. */
async function removeStrayIndexes(stateDir: string): Promise<void> {
  for (const name of await readdir(stateDir).catch(() => [] as string[])) {
    if (name.startsWith("index-")) await rm(join(stateDir, name), { force: true });
  }
}

function splitZ(buffer: Buffer): string[] {
  const parts = buffer.toString("utf8").split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

const STATUS: Record<string, ChangedFile["status"]> = {
  A: "added",
  M: "modified",
  D: "deleted",
  R: "renamed",
  T: "typechange",
  C: "added",
};

async function changedFiles(repo: Repo, env: Record<string, string>, path?: string) {
  const spec = path ? ["--", `:(literal)${path}`] : [];
  const common = ["diff", ...DIFF_SAFE, "--cached", "-M", "-z", repo.base];
  const names = splitZ((await run(repo, [...common, "--name-status", ...spec], { env })).stdout);
  const nums = splitZ((await run(repo, [...common, "--numstat", ...spec], { env })).stdout);
  const counts = new Map<string, { added: number | null; removed: number | null }>();
  for (let i = 0; i < nums.length; i++) {
    const [added, removed, name] = (nums[i] ?? "").split("\t");
    let file = name ?? "";
    if (file === "") {
      // A rename: the old and new names follow as their own fields.
      i += 2;
      file = nums[i] ?? "";
    }
    counts.set(file, {
      added: added === "-" ? null : Number(added),
      removed: removed === "-" ? null : Number(removed),
    });
  }
  const files: ChangedFile[] = [];
  for (let i = 0; i < names.length && files.length < MAX_FILES; i++) {
    const letter = (names[i] ?? "M").charAt(0);
    let oldPath: string | null = null;
    if (letter === "R" || letter === "C") oldPath = names[++i] ?? null;
    const file = names[++i] ?? "";
    const count = counts.get(file) ?? { added: null, removed: null };
    files.push({ path: file, status: STATUS[letter] ?? "modified", oldPath, ...count });
  }
  return files;
}

export async function workspaceStatus(ws: TaskWorkspace): Promise<WorkspaceStatus> {
  const repo = await openRepo(ws);
  const files = await withSnapshot(repo, async (env, large) => [
    ...(await changedFiles(repo, env)),
    ...large,
  ]);
  return { git: repo.git, base: repo.base, files: files.slice(0, MAX_FILES) };
}

export async function workspaceDiff(
  ws: TaskWorkspace,
  path?: string,
): Promise<WorkspaceDiff & { truncated: boolean }> {
  const repo = await openRepo(ws);
  return withSnapshot(repo, async (env, large) => {
    const marked = path === undefined ? large : large.filter((file) => file.path === path);
    const files = [...(await changedFiles(repo, env, path)), ...marked].slice(0, MAX_FILES);
    const spec = path ? ["--", `:(literal)${path}`] : [];
    const out = await run(repo, ["diff", ...DIFF_SAFE, "--cached", "-M", repo.base, ...spec], {
      env,
      maxBytes: DIFF_MAX_BYTES,
    });
    return {
      git: repo.git,
      base: repo.base,
      files,
      diff: out.stdout.toString("utf8"),
      truncated: out.truncated,
    };
  });
}

/** Checks `path` is plainly inside the workspace (no `..`, not git's own); its `/` form. */
function inside(path: string): string {
  return components(path).join("/");
}

function isBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8000).includes(0);
}

export async function workspaceFile(
  ws: TaskWorkspace,
  path: string,
  fromBase: boolean,
): Promise<WorkspaceFile> {
  const repo = await openRepo(ws);
  const rel = inside(path);
  const cap = WORKSPACE_FILE_MAX_BYTES;
  if (fromBase) {
    const spec = `${repo.base}:${rel}`;
    const exists = await run(repo, ["cat-file", "-e", spec], { allow: [1, 128] });
    if (exists.code !== 0)
      return { path: rel, content: null, binary: false, size: 0, truncated: false };
    const size = Number((await run(repo, ["cat-file", "-s", spec])).stdout.toString().trim());
    const blob = await run(repo, ["cat-file", "blob", spec], { maxBytes: cap });
    return describe(rel, blob.stdout, size);
  }
  const found = await readPinned(repo.dir, rel, cap);
  if (found.kind === "missing") {
    return { path: rel, content: null, binary: false, size: 0, truncated: false };
  }
  if (found.kind === "other") throw new CommandError("invalid_args", `${path} is not a file`);
  return describe(rel, found.bytes, found.size);
}

function describe(path: string, bytes: Buffer, size: number): WorkspaceFile {
  const binary = isBinary(bytes);
  return {
    path,
    content: binary ? null : bytes.toString("utf8"),
    binary,
    size,
    truncated: size > bytes.length,
  };
}

export async function workspaceRevert(
  ws: TaskWorkspace,
  path: string,
): Promise<{ path: string; action: "restored" | "removed" | "unchanged" }> {
  const repo = await openRepo(ws);
  const rel = inside(path);
  const entry = await baseEntry(repo, rel);
  // A file over the size limit when the task started is not in the base: never removed here.
  if (!entry && !repo.git && (await readLargeBase(repo.stateDir)).has(rel)) {
    throw new CommandError("failed", `${rel} was too large to keep its base version; not reverted`);
  }
  if (!entry) return { path: rel, action: await removePinned(repo.dir, rel) };
  // Written by the executor from git's objects: git never writes into the agent's folder.
  await writePinned(repo.dir, rel, entry);
  return { path: rel, action: "restored" };
}

/** Largest file a revert puts back (it is held in memory). */
const RESTORE_MAX_BYTES = 256 * 1024 * 1024;

/** The base's entry at `rel` (bytes and mode, or a symlink's target); null if it has none. */
async function baseEntry(repo: Repo, rel: string): Promise<Entry | null> {
  const slash = rel.lastIndexOf("/");
  const folder = slash < 0 ? "" : rel.slice(0, slash);
  const name = rel.slice(slash + 1);
  const tree = await run(repo, ["ls-tree", "-z", `${repo.base}:${folder}`], { allow: [128] });
  if (tree.code !== 0) return null;
  const line = splitZ(tree.stdout).find((item) => item.slice(item.indexOf("\t") + 1) === name);
  if (!line) return null;
  const [mode, type, id] = line.slice(0, line.indexOf("\t")).split(" ");
  if (type === "tree") throw new CommandError("invalid_args", `${rel} is a folder`);
  if (type !== "blob" || !id) throw new CommandError("invalid_args", `${rel} is not a file`);
  const size = Number((await run(repo, ["cat-file", "-s", id])).stdout.toString().trim());
  if (!(size <= RESTORE_MAX_BYTES)) throw new CommandError("failed", `${rel} is too large`);
  const blob = await run(repo, ["cat-file", "blob", id], { maxBytes: size + 1 });
  if (blob.stdout.length !== size) throw new CommandError("failed", `cannot read ${rel} from git`);
  if (mode === "120000") return { kind: "symlink", target: blob.stdout.toString("utf8") };
  return { kind: "file", bytes: blob.stdout, mode: mode === "100755" ? 0o755 : 0o644 };
}
