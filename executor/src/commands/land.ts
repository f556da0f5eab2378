// Landing a task's work from the Changes tab: commit on the task's branch `wegent/<id>` in its
// worktree, merge it into the branch the task started from, push it, open a pull request.
// git and gh run as argv (no shell) with hooks and fsmonitor off (GIT_HARDENING), only for a
// task in its own worktree of a project this device offers, never in cloud mode.
//
// Merge never leaves the owner's checkout half-merged: the result is computed first with
// `git merge-tree --write-tree` (no working tree touched); a conflict is refused with the files.
// When the base branch is checked out in the project's main checkout, that checkout must have
// no uncommitted changes to tracked files, and it is moved with `git merge --ff-only` to the
// new commit (the task's tip, or a merge commit made with `git commit-tree`), so it ends clean
// and on the merged commit. When the base is not checked out anywhere, its ref is moved with a
// compare-and-swap `git update-ref`.
import { accessSync, constants, statSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { delimiter, isAbsolute, join, sep } from "node:path";
import type { GitLandRefusal, GitLandResult, GitLandStatus } from "@wegent/protocol";
import { taskBranch } from "../workspace/places";
import { git } from "../system/git";
import { spawnCapture } from "../system/spawn";

export interface LandContext {
  taskId: string;
  /** The task's workspace (checked to be inside the worktrees root by the runner). */
  dir: string;
  /** The executor's worktrees root, `<home>/worktrees`. */
  worktreesRoot: string;
  /** The branch recorded when the task first ran. */
  baseBranch: string | null;
  /** Checks a folder git will work in (the project checkout) is one the device offers. */
  assertAllowed: (dir: string) => Promise<void>;
  /** Environment for gh (no executor token, no model credentials). */
  env: NodeJS.ProcessEnv;
}

class Refused extends Error {
  constructor(
    readonly refusal: GitLandRefusal,
    message: string,
    readonly conflicts: string[] = [],
  ) {
    super(message);
  }
}

const out = (result: { stdout: Buffer }) => result.stdout.toString("utf8").trim();

async function run(args: string[], cwd: string, allow: number[] = []) {
  return git(args, { cwd, allow });
}

/** The task's worktree, its main checkout and its base branch, checked. */
async function place(context: LandContext) {
  const branch = taskBranch(context.taskId);
  const dir = await realpath(context.dir);
  const trees = await realpath(context.worktreesRoot).catch(() => null);
  const rest = trees && dir.startsWith(trees + sep) ? dir.slice(trees.length + 1).split(sep) : [];
  if (rest.length !== 2 || rest[1] !== context.taskId.slice(0, 8)) {
    throw new Refused(
      "not_a_worktree",
      "This task did not run in its own worktree of a git project, so it has no branch to land.",
    );
  }
  const dirs = out(
    await run(["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir"], dir),
  ).split("\n");
  const [top, common] = dirs;
  if (top !== dir || !common?.endsWith(`${sep}.git`)) {
    throw new Refused("not_a_worktree", "The task's worktree is not a worktree of its project.");
  }
  const project = await realpath(common.slice(0, -`${sep}.git`.length));
  await context.assertAllowed(project);
  const head = await run(["symbolic-ref", "-q", "--short", "HEAD"], dir, [1]);
  if (out(head) !== branch) {
    throw new Refused(
      "wrong_branch",
      `The task's worktree is on ${out(head) || "a detached HEAD"}, not on ${branch}.`,
    );
  }
  let base = context.baseBranch;
  if (!base) {
    const current = await run(["symbolic-ref", "-q", "--short", "HEAD"], project, [1]);
    base = out(current) || null;
  }
  if (base) {
    const valid = await run(["check-ref-format", "--branch", base], project, [1, 128]);
    const exists = await run(["rev-parse", "--verify", "-q", `refs/heads/${base}`], project, [1]);
    if (valid.code !== 0 || exists.code !== 0) base = null;
  }
  return { branch, dir, project, base };
}

async function uncommitted(dir: string): Promise<number> {
  const status = await run(["status", "--porcelain", "-z", "--untracked-files=all"], dir);
  return status.stdout
    .toString("utf8")
    .split("\0")
    .filter((entry) => /^.. /.test(entry)).length;
}

async function count(range: string, cwd: string): Promise<number> {
  return Number(out(await run(["rev-list", "--count", range], cwd))) || 0;
}

async function isAncestor(a: string, b: string, cwd: string): Promise<boolean> {
  return (await run(["merge-base", "--is-ancestor", a, b], cwd, [1])).code === 0;
}

/** The remote a push goes to: the branch's own, else `origin`, else the only one. */
async function remoteOf(project: string, branch: string): Promise<string | null> {
  const own = await run(["config", "--get", `branch.${branch}.remote`], project, [1]);
  const remotes = out(await run(["remote"], project))
    .split("\n")
    .filter(Boolean);
  if (own.code === 0 && remotes.includes(out(own))) return out(own);
  if (remotes.includes("origin")) return "origin";
  return remotes.length === 1 ? remotes[0]! : null;
}

/** `gh` by an absolute path on PATH, or null. */
function ghPath(env: NodeJS.ProcessEnv): string | null {
  for (const folder of (env.PATH ?? "").split(delimiter)) {
    if (!isAbsolute(folder)) continue;
    const file = join(folder, "gh");
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

async function gh(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const bin = ghPath(env);
  if (!bin) return null;
  return spawnCapture({
    argv: [bin, ...args],
    cwd,
    env: { ...env, GH_PROMPT_DISABLED: "1", GH_NO_UPDATE_NOTIFIER: "1", NO_COLOR: "1" },
    timeoutMs,
    maxOutputBytes: 64 * 1024,
  });
}

async function ghSignedIn(cwd: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const status = await gh(["auth", "status"], cwd, env, 8_000).catch(() => null);
  return status?.exitCode === 0;
}

export async function landStatus(context: LandContext): Promise<GitLandStatus> {
  const empty: GitLandStatus = {
    refusal: null,
    message: "",
    branch: null,
    base: null,
    uncommitted: 0,
    ahead: 0,
    behind: 0,
    remote: null,
    gh: false,
    worktree: null,
    project: null,
  };
  try {
    const { branch, dir, project, base } = await place(context);
    const [changes, remote, signedIn] = await Promise.all([
      uncommitted(dir),
      remoteOf(project, branch),
      ghSignedIn(dir, context.env),
    ]);
    const ahead = base ? await count(`refs/heads/${base}..HEAD`, dir) : 0;
    const behind = base ? await count(`HEAD..refs/heads/${base}`, dir) : 0;
    return {
      ...empty,
      refusal: base ? null : "base_unknown",
      message: base ? "" : "The branch this task started from is not known or no longer exists.",
      branch,
      base,
      uncommitted: changes,
      ahead,
      behind,
      remote,
      gh: signedIn,
      worktree: dir,
      project,
    };
  } catch (error) {
    if (error instanceof Refused)
      return { ...empty, refusal: error.refusal, message: error.message };
    throw error;
  }
}

const done = (message: string, extra: Partial<GitLandResult> = {}): GitLandResult => ({
  ok: true,
  refusal: null,
  message,
  commit: null,
  how: null,
  url: null,
  conflicts: [],
  ...extra,
});

/** Runs one landing action; a refusal comes back as `ok: false` with its reason. */
export async function land(
  action: "commit" | "merge" | "push" | "pr",
  args: Record<string, unknown>,
  context: LandContext,
): Promise<GitLandResult> {
  try {
    const where = await place(context);
    switch (action) {
      case "commit":
        return await commit(where, String(args.message));
      case "merge":
        return await merge(where, context);
      case "push":
        return await push(where);
      case "pr":
        return await pullRequest(where, context, String(args.title), String(args.body ?? ""));
    }
  } catch (error) {
    if (error instanceof Refused) {
      return {
        ok: false,
        refusal: error.refusal,
        message: error.message,
        commit: null,
        how: null,
        url: null,
        conflicts: error.conflicts,
      };
    }
    throw error;
  }
}

async function commit(where: Where, message: string): Promise<GitLandResult> {
  const { dir } = where;
  if ((await uncommitted(dir)) === 0) {
    throw new Refused("nothing_to_commit", "Nothing to commit: every change is committed.");
  }
  await run(["add", "--all"], dir);
  const made = await run(["commit", "--quiet", "--no-verify", "-m", message], dir, [1]);
  if (made.code !== 0) {
    throw new Refused("failed", "git commit failed (is user.name / user.email set?).");
  }
  const sha = out(await run(["rev-parse", "HEAD"], dir));
  return done(`Committed ${sha.slice(0, 7)} on ${where.branch}.`, { commit: sha });
}

interface Where {
  branch: string;
  dir: string;
  project: string;
  base: string | null;
}

async function merge(where: Where, context: LandContext): Promise<GitLandResult> {
  const { branch, dir, project, base } = where;
  if (!base) throw new Refused("base_unknown", "The branch this task started from is not known.");
  if ((await uncommitted(dir)) > 0) {
    throw new Refused("uncommitted_changes", "Commit the task's changes first, then merge.");
  }
  const tip = out(await run(["rev-parse", "HEAD"], dir));
  const baseTip = out(await run(["rev-parse", `refs/heads/${base}`], project));
  if (await isAncestor(tip, baseTip, project)) {
    throw new Refused("already_merged", `${base} already has every commit of ${branch}.`);
  }
  let target = tip;
  let how: GitLandResult["how"] = "fast-forward";
  if (!(await isAncestor(baseTip, tip, project))) {
    // The base moved: compute the merge without touching any working tree.
    const tree = await run(
      ["merge-tree", "--write-tree", "--name-only", "--no-messages", baseTip, tip],
      project,
      [1],
    );
    const lines = out(tree).split("\n");
    if (tree.code === 1) {
      const files = lines.slice(1).filter(Boolean);
      throw new Refused(
        "conflict",
        `${base} changed since the task started, in the same places as the task: ${files.join(", ")}. ` +
          `Merge by hand: git -C ${project} merge ${branch}`,
        files,
      );
    }
    const made = await run(
      [
        "commit-tree",
        lines[0]!,
        "-p",
        baseTip,
        "-p",
        tip,
        "-m",
        `Merge branch '${branch}' into ${base}`,
      ],
      project,
    );
    target = out(made);
    how = "merge-commit";
  }
  const holder = await checkedOutAt(project, base);
  if (holder === null) {
    // Only if the base still is where it was (compare-and-swap).
    await run(
      ["update-ref", "-m", `wegent: merge ${branch}`, `refs/heads/${base}`, target, baseTip],
      project,
    );
  } else {
    const real = await realpath(holder).catch(() => holder);
    if (real !== project) {
      throw new Refused(
        "base_busy",
        `${base} is checked out in ${real}; merge there: git -C ${real} merge ${branch}`,
      );
    }
    await context.assertAllowed(real);
    const dirty = await run(["status", "--porcelain", "--untracked-files=no"], real);
    if (out(dirty).length > 0) {
      throw new Refused(
        "base_busy",
        `${base} is checked out in ${real} with uncommitted changes; commit or stash them, then merge again.`,
      );
    }
    const moved = await run(["merge", "--ff-only", "--quiet", target], real, [1, 128]);
    if (moved.code !== 0) {
      throw new Refused(
        "base_busy",
        `${real} could not move to the merged commit (files in the way?).`,
      );
    }
  }
  return done(
    how === "fast-forward"
      ? `${base} fast-forwarded to ${target.slice(0, 7)}.`
      : `Merged ${branch} into ${base} (${target.slice(0, 7)}).`,
    { commit: target, how },
  );
}

/** The worktree (main checkout included) that has `branch` checked out, or null. */
async function checkedOutAt(project: string, branch: string): Promise<string | null> {
  const list = out(await run(["worktree", "list", "--porcelain"], project));
  let path: string | null = null;
  for (const line of list.split("\n")) {
    if (line.startsWith("worktree ")) path = line.slice("worktree ".length);
    else if (line === `branch refs/heads/${branch}`) return path;
  }
  return null;
}

async function push(where: Where): Promise<GitLandResult> {
  const remote = await remoteOf(where.project, where.branch);
  if (!remote) throw new Refused("no_remote", "This project has no git remote to push to.");
  const pushed = await run(
    [
      "push",
      "--porcelain",
      "--set-upstream",
      remote,
      `refs/heads/${where.branch}:refs/heads/${where.branch}`,
    ],
    where.dir,
    [1, 128],
  );
  if (pushed.code !== 0) {
    throw new Refused("failed", `git push to ${remote} failed (see the device's git setup).`);
  }
  return done(`Pushed ${where.branch} to ${remote}.`);
}

async function pullRequest(
  where: Where,
  context: LandContext,
  title: string,
  body: string,
): Promise<GitLandResult> {
  if (!(await ghSignedIn(where.dir, context.env))) {
    throw new Refused(
      "gh_missing",
      "GitHub CLI (gh) is not installed or not signed in on this device.",
    );
  }
  if (!where.base)
    throw new Refused("base_unknown", "The branch this task started from is not known.");
  if ((await uncommitted(where.dir)) > 0) {
    throw new Refused("uncommitted_changes", "Commit the task's changes first.");
  }
  await push(where);
  const made = await gh(
    [
      "pr",
      "create",
      "--head",
      where.branch,
      "--base",
      where.base,
      "--title",
      title,
      "--body",
      body,
    ],
    where.dir,
    context.env,
    60_000,
  );
  const text = made?.stdout.toString("utf8") ?? "";
  const url = text.match(/https?:\/\/\S+/g)?.pop() ?? null;
  if (!made || made.exitCode !== 0 || !url) {
    const why = made?.stderr.toString("utf8").trim().slice(0, 500) ?? "gh did not run";
    throw new Refused("failed", `gh pr create failed: ${why}`);
  }
  return done(`Opened a pull request: ${url}`, { url });
}
