import { execFile } from "node:child_process";
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { GIT_HARDENING, gitEnv } from "../system/git";
import { gitArgv } from "../system/git-bin";
import { SKIPPED_NAMES } from "./layout";
import type { TarSource } from "./tar";

const run = promisify(execFile);

export interface Listing {
  sources: TarSource[];
  files: number;
  bytes: number;
  /** Newest modification time of anything listed (ms). */
  newestMs: number;
}

export const empty = (): Listing => ({ sources: [], files: 0, bytes: 0, newestMs: 0 });

/** Lists one regular file (its `lstat`) under the archive name `name`. */
export function addFile(out: Listing, name: string, path: string, info: Stats): void {
  out.sources.push({
    name,
    path,
    kind: "file",
    size: info.size,
    mode: info.mode,
    mtimeMs: info.mtimeMs,
  });
  out.files += 1;
  out.bytes += info.size;
  out.newestMs = Math.max(out.newestMs, info.mtimeMs);
}

export interface WalkOptions {
  /** Leave out cache folders (node_modules, …). Default true. */
  skipCaches?: boolean;
  /**
   * Leave out what git ignores, asking git in `root` (default true). Never for a sandboxed
   * agent's folder: git there would use the agent's repo config (see WorkspaceRoots).
   */
  gitIgnores?: boolean;
}

/** Files of `root` under the archive prefix `prefix`; symlinks and cache folders are left out. */
export async function walk(
  root: string,
  prefix: string,
  { skipCaches = true, gitIgnores = true }: WalkOptions = {},
): Promise<Listing> {
  const out = empty();
  let top;
  try {
    top = await lstat(root);
  } catch {
    return out;
  }
  if (!top.isDirectory()) return out;
  const ignored = gitIgnores ? await gitIgnored(root) : null;
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split("\\").join("/");
      if (skipCaches && SKIPPED_NAMES.has(entry.name)) continue;
      if (ignored?.has(rel)) continue;
      if (entry.isDirectory()) {
        const info = await lstat(path);
        out.sources.push({
          name: `${prefix}/${rel}`,
          kind: "dir",
          size: 0,
          mode: info.mode,
          mtimeMs: info.mtimeMs,
        });
        await visit(path);
      } else if (entry.isFile()) {
        addFile(out, `${prefix}/${rel}`, path, await lstat(path));
      }
    }
  };
  await visit(root);
  return out;
}

/** In a git checkout: the paths git ignores (files and whole folders), else null. */
async function gitIgnored(root: string): Promise<Set<string> | null> {
  try {
    await lstat(join(root, ".git"));
  } catch {
    return null;
  }
  try {
    // The folder is the agent's: its git config must not run anything here (GIT_HARDENING).
    const [file, ...args] = gitArgv([
      ...GIT_HARDENING,
      "ls-files",
      "-z",
      "--others",
      "--ignored",
      "--exclude-standard",
      "--directory",
    ]);
    const { stdout } = await run(file as string, args, {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
      env: gitEnv(),
    });
    return new Set(
      stdout
        .split("\0")
        .filter(Boolean)
        .map((p) => p.replace(/\/$/, "")),
    );
  } catch {
    return null;
  }
}

/**
 * Bytes and newest mtime of a tree (everything, caches and git-ignored files included: it is
 * disk use). Never runs git in the folder.
 */
export async function measure(root: string): Promise<{ bytes: number; newestMs: number }> {
  const listing = await walk(root, "x", { skipCaches: false, gitIgnores: false });
  let newestMs = listing.newestMs;
  try {
    newestMs = Math.max(newestMs, (await lstat(root)).mtimeMs);
  } catch {
    // gone meanwhile
  }
  return { bytes: listing.bytes, newestMs };
}
