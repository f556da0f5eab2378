// The files git keeps in a checkout (tracked, and untracked but not ignored) as archive sources:
// `git ls-files -z --cached --others --exclude-standard`. Deleted files, cache folders, `.git`
// anything, symlinks and whatever sits below a symlinked folder are left out, so an entry can
// never be read from outside the checkout (a `notes -> ~/.ssh` link is not followed).
import { lstat, realpath } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { spawnCapture } from "../system/spawn";
import { GIT_HARDENING, gitEnv } from "../system/git";
import { gitArgv } from "../system/git-bin";
import { SKIPPED_NAMES } from "./layout";
import { addFile, empty, type Listing } from "./walk";

const MAX_LIST_BYTES = 256 * 1024 * 1024;

export class GitListError extends Error {}

/** The checkout's kept files under the archive prefix `prefix`. */
export async function gitKeptFiles(dir: string, prefix: string): Promise<Listing> {
  const root = await realpath(dir);
  const listed = await spawnCapture({
    argv: gitArgv([
      "-c",
      "core.quotepath=off",
      ...GIT_HARDENING,
      "ls-files",
      "-z",
      "--cached",
      "--others",
      "--exclude-standard",
    ]),
    cwd: root,
    env: gitEnv(),
    timeoutMs: 120_000,
    maxOutputBytes: MAX_LIST_BYTES,
  });
  if (listed.exitCode !== 0 || listed.truncated) {
    throw new GitListError(`git ls-files failed in ${root} (exit ${listed.exitCode})`);
  }
  const out = empty();
  const seen = new Set<string>();
  // Per folder: is it really the folder it names (no symlink on the way)?
  const folders = new Map<string, boolean>([["", true]]);
  const realFolder = async (rel: string): Promise<boolean> => {
    const known = folders.get(rel);
    if (known !== undefined) return known;
    const real = await realpath(join(root, rel)).catch(() => null);
    const ok = real === join(root, rel) && (await realFolder(parentOf(rel)));
    folders.set(rel, ok);
    return ok;
  };
  for (const rel of listed.stdout.toString("utf8").split("\0")) {
    if (!rel || seen.has(rel)) continue; // --cached lists a conflicted file once per stage
    seen.add(rel);
    const parts = rel.split("/");
    if (parts.some((p) => p === ".git" || p === ".." || p === "." || SKIPPED_NAMES.has(p))) {
      continue;
    }
    const path = join(root, ...parts);
    const info = await lstat(path).catch(() => null);
    // Deleted (still in the index), a symlink, a submodule: not a file of this checkout.
    if (!info?.isFile()) continue;
    if (!(await realFolder(parts.slice(0, -1).join("/")))) continue;
    addFile(out, `${prefix}/${rel}`, path, info);
  }
  return out;
}

function parentOf(rel: string): string {
  const parent = dirname(rel);
  return parent === "." ? "" : parent.split(sep).join("/");
}
