// Launcher for `npm run bench`: see launch.mjs. A scale run holds a socket per device in this
// process and in workerd: raise the soft open-file limit to the hard one first (children inherit
// it), by running this launcher again under `ulimit -n`.
import { execFileSync, spawnSync } from "node:child_process";
import { bundleAndRun } from "./launch.mjs";

const limit = (flag) => execFileSync("sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).trim();
const soft = limit("-Sn");
const hard = limit("-Hn");
if (!process.env.WEGENT_BENCH_LIMIT_RAISED && soft !== "unlimited" && soft !== hard) {
  const args = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const run = spawnSync("sh", ["-c", `ulimit -n ${hard} && exec "$@"`, "sh", ...args], {
    stdio: "inherit",
    env: { ...process.env, WEGENT_BENCH_LIMIT_RAISED: soft },
  });
  process.exit(run.status ?? 1);
}
await bundleAndRun("run.ts");
