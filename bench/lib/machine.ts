import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../e2e/harness";

export interface Machine {
  date: string;
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  workerd: string;
  wrangler: string;
}

function version(bin: string, args: string[]): string {
  try {
    return execFileSync(join(ROOT, "node_modules/.bin", bin), args, { encoding: "utf8" })
      .trim()
      .split("\n")
      .at(-1)!
      .trim();
  } catch {
    return "unknown";
  }
}

export function machine(): Machine {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    workerd: version("workerd", ["--version"]).replace(/^workerd /, ""),
    wrangler: version("wrangler", ["--version"]),
  };
}

export const machineLine = (m: Machine) =>
  `${m.date} · ${m.cores} cores (${m.cpu}) · ${m.memoryGiB} GiB · Node ${m.node} · workerd ${m.workerd} · wrangler ${m.wrangler}`;
