// Plan mode's plan, for the owner's card. The installed Claude Code puts the plan in
// ExitPlanMode's input itself (`plan`, `planFilePath`), which the card uses first; this reads
// it for versions that only write the plan file under `$HOME/.claude/plans/` and call
// ExitPlanMode with no plan: the file this session wrote, else the newest written since the
// reply started.
import { constants } from "node:fs";
import { lstat, open, readdir, realpath } from "node:fs/promises";
import { join } from "node:path";

/** The most of a plan the card shows (the protocol's bound). */
export const MAX_PLAN_BYTES = 256 * 1024;

/**
 * The plan file's name when an assistant message writes one (`Write`/`Edit` of a `*.md` under
 * `.claude/plans/`), else null. Only the name is kept: it is read from the HOME's own folder.
 */
export function planFileWritten(message: unknown): string | null {
  const m = message as { type?: unknown; message?: { content?: unknown } };
  if (m.type !== "assistant" || !Array.isArray(m.message?.content)) return null;
  let name: string | null = null;
  for (const block of m.message.content as Array<Record<string, unknown>>) {
    if (block.type !== "tool_use" || !["Write", "Edit", "MultiEdit"].includes(String(block.name)))
      continue;
    const path = (block.input as { file_path?: unknown } | undefined)?.file_path;
    const found = typeof path === "string" ? /\/\.claude\/plans\/([^/]+\.md)$/.exec(path) : null;
    if (found?.[1]) name = found[1];
  }
  return name;
}

/**
 * The plan of this session: the file it wrote (`written`, by name) when it was modified at or
 * after `since` (ms); else the newest `*.md` in `<home>/.claude/plans` modified since (in local
 * mode other sessions of the owner write there too, so the session's own file comes first).
 * Read without following links (the agent could plant a link to a file it may not read, and in
 * cloud mode the executor reads from outside the agent's sandbox), or null.
 */
export async function readLatestPlan(
  home: string,
  since: number,
  written: string | null = null,
): Promise<string | null> {
  const dir = join(home, ".claude", "plans");
  try {
    // The folder itself must be where it says (no link out of HOME).
    const info = await lstat(dir);
    if (!info.isDirectory() || (await realpath(dir)) !== (await realpath(home)) + "/.claude/plans")
      return null;
    let newest: { name: string; mtime: number } | null = null;
    const own = written === null ? null : await lstat(join(dir, written)).catch(() => null);
    if (written !== null && own?.isFile() && own.mtimeMs >= since - 1000) {
      newest = { name: written, mtime: own.mtimeMs };
    }
    for (const name of newest ? [] : await readdir(dir)) {
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
