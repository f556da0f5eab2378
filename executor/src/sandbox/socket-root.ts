// The folder holding each cloud task's model socket (`$TMPDIR/wegent-model-*`). Removed when
// the executor stops; one left by an executor that crashed is swept at the next start. Each
// folder names its executor's pid, so a second cloud executor's live folder is never touched.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "wegent-model-";
const OWNER_FILE = "executor.pid";

export function makeSocketRoot(dir = tmpdir()): string {
  const root = mkdtempSync(join(dir, PREFIX));
  writeFileSync(join(root, OWNER_FILE), String(process.pid), { mode: 0o600 });
  return root;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes this user's socket folders whose executor is gone; returns how many. */
export function sweepSocketRoots(dir = tmpdir()): number {
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(PREFIX)) continue;
    const root = join(dir, name);
    try {
      // Not followed: a link another local user put in a shared TMPDIR is never ours to sweep.
      const stat = lstatSync(root);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      const pid = Number(readFileSync(join(root, OWNER_FILE), "utf8"));
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
      rmSync(root, { recursive: true, force: true });
      removed += 1;
    } catch {
      // No owner file (not ours, or still being made) or gone meanwhile: leave it.
    }
  }
  return removed;
}
