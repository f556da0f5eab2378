// Laying a verified, unpacked archive (in its staging folder) out on this device: as the task's
// git worktree again, or as a scratch workspace; and the task's Claude session folder under the
// cwd it will run in. Nothing here takes a path from the archive except relative entry names,
// which stay inside their folder.
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { gitOut } from "../system/git";
import { taskBranch } from "./places";
import { SESSION_PREFIX, WORKSPACE_PREFIX } from "./layout";
import { claudeProjectName, taskPaths } from "./places";
import { worktreeProject, worktreesRoot } from "./places";
import { type RestoreContext, RestoreError, type RestoreManifest } from "./manifest";

/**
 * Same device: recreates the task's worktree on its branch (`wegent/<short id>`, kept by the
 * cleanup; from the recorded base commit if the branch is gone), lays the archived files over
 * it, and puts the session folder back. False when the project is no longer offered here.
 */
export async function restoreWorktree(
  context: RestoreContext,
  staging: string,
  manifest: RestoreManifest,
): Promise<boolean> {
  if (!manifest.projectDir) return false;
  const wanted = await realpath(manifest.projectDir).catch(() => null);
  let project: { id: string; path: string } | null = null;
  for (const p of context.projects()) {
    if (p.git && wanted !== null && (await realpath(p.path).catch(() => null)) === wanted) {
      project = p;
    }
  }
  if (!project || !wanted) return false;
  // Never a path from the archive: the worktree's place follows from project and task.
  const dir = join(worktreesRoot(context.roots), project.id, context.taskId.slice(0, 8));
  const entry = await lstat(dir).catch(() => null);
  if (entry?.isSymbolicLink()) throw new Error(`${dir} is a symlink; not restored.`);
  if (!entry) {
    await mkdir(dirname(dir), { recursive: true });
    await gitOut(["worktree", "prune"], wanted);
    const branch = taskBranch(context.taskId);
    const has = await gitOut(["rev-parse", "--verify", "-q", `refs/heads/${branch}`], wanted);
    const base = manifest.base ?? "HEAD";
    const added = has.ok
      ? await gitOut(["worktree", "add", dir, branch], wanted)
      : await gitOut(["worktree", "add", "-b", branch, dir, base], wanted);
    if (!added.ok) {
      throw new Error(`Could not recreate the task's worktree: ${added.out.trim().slice(0, 500)}`);
    }
  }
  const real = await realpath(dir);
  if ((await worktreeProject(real)) !== wanted) {
    throw new Error(`${dir} is not a worktree of ${project.path}; not restored.`);
  }
  await layOver(join(staging, WORKSPACE_PREFIX), real);
  await placeSessions(context, staging, manifest, real);
  return true;
}

/** Another device (or no project here): the files become the scratch workspace `<root>/<id>`. */
export async function restoreFolder(
  context: RestoreContext,
  staging: string,
  manifest: RestoreManifest | null,
): Promise<void> {
  const { workspaceDir } = taskPaths(context.roots, context.taskId);
  await rm(workspaceDir, { recursive: true, force: true });
  await rename(join(staging, WORKSPACE_PREFIX), workspaceDir);
  if (manifest && manifest.kind !== "scratch") await commitFiles(workspaceDir, manifest);
  await placeSessions(context, staging, manifest, workspaceDir);
}

/**
 * A project task's files on another device: a git repository with one commit of them, on the
 * task's branch name, so the changes view and git commands work there too. Best effort.
 */
async function commitFiles(dir: string, manifest: RestoreManifest): Promise<void> {
  if (await lstat(join(dir, ".git")).catch(() => null)) return;
  const branch = manifest.branch ?? "main";
  const steps = [
    ["init", "-q", "-b", branch],
    ["add", "-A"],
    [
      "-c",
      "user.name=Wegent",
      "-c",
      "user.email=wegent@localhost",
      "commit",
      "-q",
      "--no-verify",
      "-m",
      `The task's files, restored from its archive (${manifest.kind === "worktree" ? `branch ${branch}` : "project folder"})`,
    ],
  ];
  for (const step of steps) if (!(await gitOut(step, dir)).ok) return;
}

/**
 * The archive's session folder (one: the task's) becomes the session folder of `cwd`, with the
 * `cwd` of its lines rewritten. Other folders in a crafted archive are ignored: they could name
 * another project's sessions of the owner.
 */
async function placeSessions(
  context: RestoreContext,
  staging: string,
  manifest: RestoreManifest | null,
  cwd: string,
): Promise<void> {
  const sessions = join(staging, SESSION_PREFIX);
  const folders = await readdir(sessions).catch(() => [] as string[]);
  if (folders.length === 0) return;
  const from = manifest ? claudeProjectName(manifest.dir) : null;
  const main =
    folders.find((f) => f === from) ??
    folders.find((f) => f.endsWith(context.taskId)) ??
    (folders.length === 1 ? folders[0]! : null);
  if (!main) return;
  const { claudeProjects } = taskPaths(context.roots, context.taskId);
  await mkdir(claudeProjects, { recursive: true });
  const here = join(claudeProjects, claudeProjectName(cwd));
  await rm(here, { recursive: true, force: true });
  await rename(join(sessions, main), here);
  if (manifest && manifest.dir !== cwd) await rewriteCwd(here, manifest.dir, cwd);
}

/** `"cwd":"<old>"` → `"cwd":"<new>"` in the session files (the conversation ran there). */
async function rewriteCwd(folder: string, before: string, after: string): Promise<void> {
  const old = `"cwd":${JSON.stringify(before)}`;
  const now = `"cwd":${JSON.stringify(after)}`;
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    if (!name.endsWith(".jsonl")) continue;
    const path = join(folder, name);
    const info = await lstat(path);
    if (!info.isFile() || info.size > 256 * 1024 * 1024) continue;
    const text = await readFile(path, "utf8");
    if (text.includes(old)) await writeFile(path, text.split(old).join(now));
  }
}

/**
 * Moves every file of `src` (made by the tar reader: plain folders and files only) to the same
 * place under `dest`, replacing what is there. Refused before anything moves if an entry is in
 * `.git`; a folder on the way that is a symlink (or a file) is refused, never followed.
 */
export async function layOver(src: string, dest: string): Promise<void> {
  const files: string[] = [];
  const visit = async (rel: string) => {
    for (const e of await readdir(join(src, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === ".git") throw new RestoreError(`The archive writes into .git (${child}).`);
      if (e.isDirectory()) await visit(child);
      else if (e.isFile()) files.push(child);
    }
  };
  await visit("");
  await mkdir(dest, { recursive: true });
  const checked = new Set<string>([""]);
  for (const rel of files) {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      if (checked.has(folder)) continue;
      const at = join(dest, folder);
      const info = await lstat(at).catch(() => null);
      if (!info) await mkdir(at);
      else if (!info.isDirectory()) throw new RestoreError(`${folder} is not a folder here.`);
      checked.add(folder);
    }
    const target = join(dest, rel);
    const there = await lstat(target).catch(() => null);
    if (there?.isDirectory()) throw new RestoreError(`${rel} is a folder here.`);
    // A symlink there is replaced itself (rename never writes through it).
    await rename(join(src, rel), target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "EXDEV") throw error;
      if (there) await unlink(target);
      await copyFile(join(src, rel), target);
    });
  }
}
