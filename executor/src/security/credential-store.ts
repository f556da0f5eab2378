// The device credential on disk: `<home>/credential.json`, mode 0600 in a 0700 folder, written
// atomically (a temporary file, then rename) so a crash never leaves half a credential.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { z } from "zod";

export const CREDENTIAL_FILE = "credential.json";

export const StoredCredential = z.object({
  deviceId: z.string().min(1),
  backendUrl: z.string().min(1),
  credential: z.string().min(1),
});
export type StoredCredential = z.infer<typeof StoredCredential>;

/** Creates the executor home (0700), or tightens it when it already exists. */
export function ensurePrivateHome(homeDir: string): void {
  mkdirSync(homeDir, { recursive: true, mode: 0o700 });
  if (process.platform !== "win32" && (statSync(homeDir).mode & 0o077) !== 0) {
    chmodSync(homeDir, 0o700);
  }
}

/** The stored credential, or null when there is none (or it is unreadable or malformed). */
export function readCredential(homeDir: string): StoredCredential | null {
  const path = join(homeDir, CREDENTIAL_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  try {
    const parsed = StoredCredential.safeParse(JSON.parse(text));
    if (!parsed.success) return null;
    // Someone loosened it: tighten before use.
    if (process.platform !== "win32" && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return parsed.data;
  } catch {
    return null;
  }
}

export function writeCredential(homeDir: string, value: StoredCredential): void {
  ensurePrivateHome(homeDir);
  const path = join(homeDir, CREDENTIAL_FILE);
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  // O_EXCL: never write through a file (or symlink) someone put there.
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(value) + "\n");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

export function removeCredential(homeDir: string): void {
  rmSync(join(homeDir, CREDENTIAL_FILE), { force: true });
}
