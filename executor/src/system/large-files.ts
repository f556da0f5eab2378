// Files too large to compare: status and diff never read them (a sparse multi-GB file would
// keep git hashing until the 30 s timeout, at every refresh of the Changes tab). They are left
// out of git's view and listed with a marker (`tooLarge`, their size) instead.
import { lstat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChangedFile } from "@wegent/protocol";

/** Largest file status, diff and a folder's baseline read (bytes, its apparent size). */
export const COMPARE_MAX_BYTES = 64 * 1024 * 1024;

/** A file over the limit, as it is now. */
export interface LargeFile {
  path: string;
  size: number;
}

/** Of `paths` (relative, `/`-separated), the regular files over `limit`; at most 32 stat at once. */
export async function largeFiles(dir: string, paths: string[], limit: number) {
  const found: LargeFile[] = [];
  const unique = [...new Set(paths)];
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const path = unique[next++]!;
      const info = await lstat(join(dir, path)).catch(() => null);
      if (info?.isFile() && info.size > limit) found.push({ path, size: info.size });
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, unique.length) }, worker));
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The pathspecs for `git add`: everything but the large files (NUL-separated, for stdin). */
export function addPathspecs(large: LargeFile[]): Buffer {
  return Buffer.from(
    [".", ...large.map((file) => `:(exclude,literal)${file.path}`)].map((s) => `${s}\0`).join(""),
  );
}

/** The sidecar of a folder's baseline: the large files it held (not in the base tree). */
const SIDECAR = "large-base.json";

export async function writeLargeBase(stateDir: string, large: LargeFile[]): Promise<void> {
  const sizes = Object.fromEntries(large.map((file) => [file.path, file.size]));
  await writeFile(join(stateDir, SIDECAR), JSON.stringify(sizes));
}

export async function readLargeBase(stateDir: string): Promise<Map<string, number>> {
  try {
    const json = JSON.parse(await readFile(join(stateDir, SIDECAR), "utf8")) as unknown;
    if (!json || typeof json !== "object") return new Map();
    const sizes = new Map<string, number>();
    for (const [path, size] of Object.entries(json as Record<string, unknown>)) {
      if (typeof size === "number") sizes.set(path, size);
    }
    return sizes;
  } catch {
    return new Map();
  }
}

/**
 * The marker entries: a large file is listed when it is new, when its size differs from the
 * base's (`baseSize`), or when a large base file is gone. A change that keeps the size is not
 * seen (the file is never read).
 */
export async function largeChanges(
  large: LargeFile[],
  largeBase: Map<string, number>,
  baseSize: (path: string) => Promise<number | null>,
  exists: (path: string) => Promise<boolean>,
): Promise<ChangedFile[]> {
  const out: ChangedFile[] = [];
  const unknown = { oldPath: null, added: null, removed: null, tooLarge: true };
  for (const file of large) {
    const before = largeBase.get(file.path) ?? (await baseSize(file.path));
    if (before === file.size) continue;
    out.push({
      path: file.path,
      status: before === null ? "added" : "modified",
      ...unknown,
      size: file.size,
    });
  }
  const now = new Set(large.map((file) => file.path));
  for (const [path, size] of largeBase) {
    if (!now.has(path) && !(await exists(path))) {
      out.push({ path, status: "deleted", ...unknown, size });
    }
  }
  return out;
}
