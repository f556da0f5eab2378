// A managed stdio MCP server from Settings, with a device variable the device allows, on a
// Codex task (the real codex binary, the fake Responses API on loopback). The attacker is
// another local user reading process command lines (/proc/<pid>/cmdline is world-readable),
// or the model printing its environment into the transcript: the secret is on no command line
// of any process while the server runs, not in codex app-server's environment, not in the
// `env` the model runs; the owner's config.toml stays byte for byte as it was.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Device, TERMINAL_STATUSES, type TaskWithMessages } from "@wegent/protocol";
import { startFakeResponses } from "../../e2e/fake-model/responses";
import { ROOT, api, startExecutor, until } from "../../e2e/harness";
import { providerConfig } from "../../executor/src/runtime/codex/home";
import type { BenchUser } from "../lib/platform";
import { expectThat, type Scenario } from "./context";

const CODEX = join(ROOT, "node_modules/.bin/codex");
const SECRET = "gauntlet-codex-mcp-secret-9b1f27";

/** One tool, `probe`: reports where the secret is, seen from the server's side. */
const SERVER = `
const { readFileSync, readdirSync } = require("node:fs");
const secret = process.env.PROBE_SECRET ?? "";
const has = (path) => { try { return readFileSync(path, "utf8").includes(secret); } catch { return false; } };
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  const result = (result) => send({ jsonrpc: "2.0", id: msg.id, result });
  if (msg.method === "initialize") return result({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "probe", version: "1" } });
  if (msg.method === "tools/list") return result({ tools: [{ name: "probe", description: "Probes", inputSchema: { type: "object" } }] });
  if (msg.method === "tools/call") {
    const onCmdline = readdirSync("/proc").filter((p) => /^\\d+$/.test(p) && has("/proc/" + p + "/cmdline"));
    return result({ content: [{ type: "text", text: "got=" + (secret === ${JSON.stringify(SECRET)}) + " cmdlines=" + onCmdline.length + " codexEnv=" + has("/proc/" + process.ppid + "/environ") }] });
  }
  send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no" } });
});
`;

async function reply(origin: string, user: BenchUser, taskId: string, count: number) {
  return until(
    async () => {
      const d = (
        await api<TaskWithMessages>(origin, "GET", `/api/tasks/${taskId}`, {
          cookie: user.session.cookie,
        })
      ).body;
      const last = d.messages[count - 1];
      return last && TERMINAL_STATUSES.has(last.status) ? last : undefined;
    },
    90_000,
    "the Codex reply",
  );
}

export const codexMcpSecrets: Scenario = {
  name: "Codex task with a managed stdio MCP server: its device variable on no command line, not in Codex's env or the model's env",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    const cookie = user.session.cookie;
    const responses = await startFakeResponses();
    ctx.cleanups.push(responses.close);
    const root = mkdtempSync(join(tmpdir(), "wegent-gauntlet-codex-mcp-"));
    const codexHome = join(root, "owner-codex");
    mkdirSync(codexHome);
    const config = `${providerConfig({ name: "fake", baseUrl: responses.url, model: "fake-model", envKey: "CODEX_FAKE_KEY" })}# mine\n`;
    writeFileSync(join(codexHome, "config.toml"), config);
    const server = join(root, "probe.cjs");
    writeFileSync(server, SERVER);
    const home = join(root, "executor-home");
    mkdirSync(home);
    writeFileSync(
      join(home, "device-config.json"),
      JSON.stringify({ managedMcp: { allowEnv: ["PROBE_SECRET"] } }),
    );
    const ex = startExecutor({
      origin,
      token: user.token,
      modelUrl: ctx.fake.url,
      home,
      args: ["--codex", CODEX],
      env: { CODEX_HOME: codexHome, CODEX_FAKE_KEY: "gauntlet-key", PROBE_SECRET: SECRET },
    });
    ctx.executors.push(ex);
    await ex.waitFor("registered");

    const deviceNow = async () =>
      (
        await api<{ devices: Device[] }>(origin, "GET", "/api/devices", { cookie })
      ).body.devices.find((x) => x.id === ex.deviceId);
    const before = await until(deviceNow, 30_000, "the device");
    const defined = await api(origin, "POST", "/api/mcp-servers", {
      cookie,
      body: {
        name: "probe",
        transport: "stdio",
        command: process.execPath,
        args: [server],
        env: ["PROBE_SECRET"],
      },
    });
    expectThat(defined.status === 201, `defining the server answered ${defined.status}`);
    await until(
      async () => {
        const d = await deviceNow();
        return d?.capabilities.state === "synced" &&
          d.capabilities.digest !== before.capabilities.digest &&
          d.runtimes.some((r) => r.id === "codex")
          ? d
          : undefined;
      },
      30_000,
      "the device to apply the server and report Codex",
    );

    const created = await api<TaskWithMessages>(origin, "POST", "/api/tasks", {
      cookie,
      body: {
        message: "tool: mcp__wegent_probe.probe {}",
        target: { deviceId: ex.deviceId },
        runtime: "codex",
        permissionMode: "bypassPermissions",
      },
    });
    expectThat(created.status === 201, `the task answered ${created.status}`);
    const taskId = created.body.task.id;
    const first = await reply(origin, user, taskId, 2);
    const facts = /got=(\w+) cmdlines=(\d+) codexEnv=(\w+)/.exec(first.content ?? "");
    expectThat(facts !== null, `the tool did not run: ${first.status} ${first.content}`);
    expectThat(facts[1] === "true", "the server did not get the device's variable");
    expectThat(facts[2] === "0", `the secret was on ${facts[2]} command line(s)`);
    expectThat(facts[3] === "false", "the secret was in codex app-server's environment");

    const follow = await api(origin, "POST", `/api/tasks/${taskId}/messages`, {
      cookie,
      body: { message: "run: env" },
    });
    expectThat(follow.status === 201, `the follow-up answered ${follow.status}`);
    const second = await reply(origin, user, taskId, 4);
    expectThat(second.status === "completed", `the env run ended ${second.status}`);
    const transcript = JSON.stringify(second);
    expectThat(transcript.includes("PATH="), "no env output in the reply");
    expectThat(!transcript.includes(SECRET), "the model's `env` showed the secret");
    expectThat(
      readFileSync(join(codexHome, "config.toml"), "utf8") === config,
      "the owner's config.toml changed",
    );
    expectThat(
      !existsSync(join(home, "tasks", taskId, "codex-mcp")),
      "the run's secret file stayed after the run",
    );
    return "secret on 0 command lines, not in Codex's env nor the model's env; config.toml unchanged";
  },
};
