// Removes a folder that a process being stopped may still write into. `rmSync`'s own
// `maxRetries` only retries the last `rmdir`, never rescanning, so an entry made meanwhile (a
// Claude Code process writing its session or MCP log as it ends) fails it with ENOTEMPTY for
// good: this rescans until the folder is gone, for up to `ms`.
import { rmSync } from "node:fs";

export function removeTree(path: string, ms = 5000): void {
  const end = Date.now() + ms;
  for (;;) {
    try {
      rmSync(path, { recursive: true, force: true });
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "ENOTEMPTY" && code !== "EBUSY") || Date.now() > end) throw error;
      const until = Date.now() + 100;
      while (Date.now() < until) {
        // A short synchronous wait: callers are synchronous clean-ups.
      }
    }
  }
}
