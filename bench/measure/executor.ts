// (f) The real wegent-executor: time from start to "registered" and its idle memory.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { startExecutor } from "../../e2e/harness";
import { rssBytes } from "../lib/platform";
import { sleep, type Summary, summarize } from "../lib/stats";

export interface ExecutorResult {
  registered: Summary;
  idleRssMiB: Summary;
  node: string;
}

export async function measureExecutor(
  origin: string,
  token: string,
  runs: number,
  idleSeconds: number,
): Promise<ExecutorResult> {
  const registered: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const ex = startExecutor({ origin, token });
    try {
      await ex.waitFor(/\bregistered\b/, 30_000);
      registered.push(performance.now() - t0);
      await sleep(idleSeconds * 1000);
      rss.push(rssBytes(ex.child.pid!) / 2 ** 20);
    } finally {
      await ex.stop("SIGTERM");
    }
  }
  const node = ex0Node();
  return { registered: summarize(registered), idleRssMiB: summarize(rss), node };
}

/** The executor runs on the machine's Node (as the harness starts it) when there is one. */
function ex0Node(): string {
  if (!existsSync("/usr/bin/node")) return process.version;
  return execFileSync("/usr/bin/node", ["--version"], { encoding: "utf8" }).trim();
}
