import { WATCHER_SOURCE } from "../executor/src/security/watcher-source.ts";
import { spawn } from "node:child_process";
const p = spawn("/usr/bin/node", ["-e", WATCHER_SOURCE, "/bin/sh", "-c", "echo hi; exit 3"], { stdio: ["pipe","pipe","pipe","pipe"], detached: true });
p.stdout.on("data", d => console.log("out:", d.toString()));
p.stderr.on("data", d => console.log("err:", d.toString()));
p.on("exit", (c, s) => { console.log("exit", c, s); process.exit(0); });
setTimeout(() => { console.log("still running"); process.exit(1) }, 3000);
