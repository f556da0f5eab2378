// Race-free access to a path inside a workspace the agent can change while we work. The path is
// walked one folder at a time from the workspace root through open folder descriptors: each
// step opens `/proc/self/fd/<folder>/<name>` with O_NOFOLLOW, so the kernel resolves `name`
// inside the folder already open, and a folder the agent swapped for a symlink fails (ELOOP or
// ENOTDIR) instead of being followed. Changes go through the open parent the same way.
import { constants } from "node:fs";
import { type FileHandle, lchown, lstat, mkdir, open, symlink, unlink } from "node:fs/promises";
import { CommandError } from "./git";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** The path of `name` inside an open folder, resolved by the kernel from that folder. */
export function at(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** The components of a workspace-relative path; refuses anything that is not plainly inside. */
export function components(path: string): string[] {
  const parts = path.split("/");
  for (const part of parts) {
    if (part === "" || part === "." || part === ".." || part.includes("\0")) {
      throw new CommandError("path_outside", `${path} is not inside the workspace`);
    }
  }
  if (parts[0] === ".git") throw new CommandError("path_outside", `${path} is git's own`);
  return parts;
}

/** Who should own what the executor creates in the folder: its owner, when we are root. */
export interface Owner {
  uid: number;
  gid: number;
}

/** An open parent folder of a workspace path and the last component's name. */
export interface PinnedParent {
  dir: FileHandle;
  name: string;
  /** The workspace folder's owner, if the executor is root and someone else owns it. */
  owner: Owner | null;
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? "";
}

/** Opens `name` in `dir` as a folder, never through a symlink; null if it does not exist. */
async function openChild(dir: FileHandle, name: string, path: string): Promise<FileHandle | null> {
  try {
    return await open(at(dir, name), DIR_FLAGS);
  } catch (error) {
    if (code(error) === "ENOENT") return null;
    if (code(error) === "ELOOP" || code(error) === "ENOTDIR") {
      const info = await lstat(at(dir, name)).catch(() => null);
      if (info && !info.isSymbolicLink()) {
        throw new CommandError("invalid_args", `${path}: ${name} is not a folder`);
      }
      throw new CommandError("path_outside", `${path} leads outside the workspace`);
    }
    throw error;
  }
}

/**
 * Opens the folder holding `path` (relative to `root`). Missing folders answer null, or are
 * made one at a time (owned by the workspace's owner) when `create` is set. The caller closes
 * the returned folder.
 */
export async function openParent(
  root: string,
  path: string,
  create = false,
): Promise<PinnedParent | null> {
  const parts = components(path);
  const name = parts.pop() as string;
  let dir = await open(root, DIR_FLAGS);
  try {
    const info = await dir.stat();
    const owner =
      process.getuid?.() === 0 && info.uid !== 0 ? { uid: info.uid, gid: info.gid } : null;
    for (const part of parts) {
      let next = await openChild(dir, part, path);
      if (!next && create) {
        await mkdir(at(dir, part), 0o755).catch((error: unknown) => {
          if (code(error) !== "EEXIST") throw error;
        });
        next = await openChild(dir, part, path);
        if (next && owner) await next.chown(owner.uid, owner.gid);
      }
      if (!next) {
        await dir.close();
        return null;
      }
      await dir.close();
      dir = next;
    }
    return { dir, name, owner };
  } catch (error) {
    await dir.close();
    throw error;
  }
}

/** What a workspace path holds now: a regular file's first `cap` bytes, or why not. */
export type PinnedRead =
  { kind: "missing" } | { kind: "file"; bytes: Buffer; size: number } | { kind: "other" };

/**
 * Reads a regular file inside the workspace. Opened non-blocking (a FIFO cannot hold a thread)
 * and never through a symlink; anything but a regular file answers "other".
 */
export async function readPinned(root: string, path: string, cap: number): Promise<PinnedRead> {
  const parent = await openParent(root, path);
  if (!parent) return { kind: "missing" };
  let file: FileHandle;
  try {
    file = await open(at(parent.dir, parent.name), O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (code(error) === "ENOENT") return { kind: "missing" };
    if (code(error) === "ELOOP") {
      throw new CommandError("path_outside", `${path} leads outside the workspace`);
    }
    if (code(error) === "ENXIO") return { kind: "other" };
    throw error;
  } finally {
    await parent.dir.close();
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) return { kind: "other" };
    const buffer = Buffer.alloc(Math.min(info.size, cap));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return { kind: "file", bytes: buffer.subarray(0, bytesRead), size: info.size };
  } finally {
    await file.close();
  }
}

/** Removes a workspace entry (not a folder); the symlink itself if it is one. */
export async function removePinned(root: string, path: string): Promise<"removed" | "unchanged"> {
  const parent = await openParent(root, path);
  if (!parent) return "unchanged";
  try {
    const target = at(parent.dir, parent.name);
    const info = await lstat(target).catch(() => null);
    if (!info) return "unchanged";
    if (info.isDirectory()) throw new CommandError("invalid_args", `${path} is a folder`);
    await unlink(target);
    return "removed";
  } finally {
    await parent.dir.close();
  }
}

/** What to put back: a file's bytes and mode, or a symlink's target. */
export type Entry =
  { kind: "file"; bytes: Buffer; mode: number } | { kind: "symlink"; target: string };

/**
 * Puts `entry` at `path`, replacing whatever is there (not a folder): missing folders are
 * made, the old entry is unlinked and the new one created exclusively, never through a link.
 */
export async function writePinned(root: string, path: string, entry: Entry): Promise<void> {
  const parent = await openParent(root, path, true);
  if (!parent) throw new CommandError("failed", `cannot make the folder of ${path}`);
  try {
    const target = at(parent.dir, parent.name);
    const info = await lstat(target).catch(() => null);
    if (info?.isDirectory()) throw new CommandError("invalid_args", `${path} is a folder`);
    if (info) await unlink(target);
    const { owner } = parent;
    if (entry.kind === "symlink") {
      await symlink(entry.target, target);
      if (owner) await lchown(target, owner.uid, owner.gid);
      return;
    }
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;
    const file = await open(target, flags, entry.mode);
    try {
      if (owner) await file.chown(owner.uid, owner.gid);
      await file.chmod(entry.mode);
      await file.writeFile(entry.bytes);
    } finally {
      await file.close();
    }
  } finally {
    await parent.dir.close();
  }
}
