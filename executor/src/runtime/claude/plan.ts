// Plan mode's plan, for the owner's card. Claude Code has the model write its plan to a file
// under `$HOME/.claude/plans/` and then call ExitPlanMode with no plan in its input; the plan
// the owner approves is that file: the newest one written since the reply started.
import { constants } from "node:fs";
import { lstat, open, readdir, realpath } from "node:fs/promises";
import { join } from "node:path";

/** The most of a plan the card shows (the protocol's bound). */
export const MAX_PLAN_BYTES = 256 * 1024;

/**
 * The newest `*.md` in `<home>/.claude/plans` modified at or after `since` (ms), read without
 * following links (the agent could plant a link to a file it may not read, and in cloud mode
 * the executor reads from outside the agent's sandbox), or null.
 */
export async function readLatestPlan(home: string, since: number): Promise<string | null> {
  const dir = join(home, ".claude", "plans");
  try {
    // The folder itself must be where it says (no link out of HOME).
    const info = await lstat(dir);
    if (!info.isDirectory() || (await realpath(dir)) !== (await realpath(home)) + "/.claude/plans")
      return null;
    let newest: { name: string; mtime: number } | null = null;
    for (const name of await readdir(dir)) {
      if (!name.endsWith(".md")) continue;
      const entry = await lstat(join(dir, name));
      if (!entry.isFile() || entry.mtimeMs < since - 1000) continue;
      if (!newest || entry.mtimeMs > newest.mtime) newest = { name, mtime: entry.mtimeMs };
    }
    if (!newest) return null;
    // Non-blocking: the agent may swap the file for a FIFO after the lstat above (cloud: its
    // own HOME), and a blocking open would hold one of the executor's I/O threads for ever.
    const handle = await open(
      join(dir, newest.name),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    try {
      const opened = await handle.stat();
      if (!opened.isFile() || opened.nlink !== 1) return null;
      const buffer = Buffer.alloc(MAX_PLAN_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, MAX_PLAN_BYTES, 0);
      return buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}
