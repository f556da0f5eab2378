// The lifeline watcher, run as `node -e WATCHER_SOURCE <command> <args...>` between the
// executor and the agent in local mode. It starts the agent on its own stdin/stdout/stderr
// (the executor's pipes) and holds the read end of a fourth pipe, fd 3, whose only write end
// is in the executor. When that pipe ends — the executor exited, crashed or was killed with
// SIGKILL — the watcher SIGSTOPs and SIGKILLs every process below it (and every process that
// carries its WEGENT_AGENT marker, which catches ones re-parented away from the tree), then
// exits. Plain CommonJS so it runs on any Node >= 20 without a build step.
export const WATCHER_SOURCE = String.raw`
"use strict";
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const marker = process.env.WEGENT_AGENT || "";
const [command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: "inherit" });
function parents() {
  const map = new Map();
  if (process.platform === "linux") {
    for (const e of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const s = fs.readFileSync("/proc/" + e + "/stat", "utf8");
        map.set(Number(e), Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]));
      } catch {}
    }
    return map;
  }
  try {
    for (const line of execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8" }).split("\n")) {
      const [p, pp] = line.trim().split(/\s+/).map(Number);
      if (p) map.set(p, pp);
    }
  } catch {}
  return map;
}
function marked() {
  const found = [];
  if (process.platform !== "linux" || !marker) return found;
  const needle = Buffer.from("WEGENT_AGENT=" + marker + "\0");
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync("/proc/" + e + "/environ").includes(needle)) found.push(Number(e));
    } catch {}
  }
  return found;
}
function targets() {
  const kids = new Map();
  for (const [p, pp] of parents()) kids.set(pp, [...(kids.get(pp) || []), p]);
  const out = new Set(marked());
  const queue = [process.pid];
  while (queue.length) for (const c of kids.get(queue.shift()) || []) if (!out.has(c)) { out.add(c); queue.push(c); }
  out.delete(process.pid);
  return [...out];
}
function sig(pid, s) { try { process.kill(pid, s); } catch {} }
let ending = false;
function killAll(code) {
  if (ending) return;
  ending = true;
  for (let round = 0; round < 4; round++) {
    const pids = targets();
    if (pids.length === 0) break;
    for (const p of pids) sig(p, "SIGSTOP");
    for (const p of pids) { sig(-p, "SIGKILL"); sig(p, "SIGKILL"); }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  process.exit(code);
}
// A socket, not fs.createReadStream: a blocking pipe read in the thread pool would hold
// process.exit() forever.
const lifeline = new (require("net").Socket)({ fd: 3, readable: true, writable: false });
lifeline.on("data", () => {});
lifeline.on("end", () => killAll(137));
lifeline.on("close", () => killAll(137));
lifeline.on("error", () => killAll(137));
for (const s of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(s, () => killAll(143));
child.on("error", (e) => { process.stderr.write(String(e.message) + "\n"); killAll(127); });
child.on("exit", (code, signal) => {
  if (ending) return;
  ending = true;
  process.exit(code === null ? 128 + (require("os").constants.signals[signal] || 9) : code);
});
`;
