// Finds the `codex` binary: the one the owner named (--codex PATH / device-config.json), else
// the first `codex` on the login shell's PATH.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function findCodexExecutable(configured?: string, path = process.env.PATH): string | null {
  if (configured) return isExecutable(configured) ? configured : null;
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === "win32" ? "codex.exe" : "codex");
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}
