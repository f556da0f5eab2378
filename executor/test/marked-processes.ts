// The processes of the cloud sandboxes in a test: the launcher's marker is in their environment.
import { readdirSync, readFileSync } from "node:fs";

export function marked(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "utf8").includes(`WEGENT_AGENT=${marker}\0`))
        found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}
