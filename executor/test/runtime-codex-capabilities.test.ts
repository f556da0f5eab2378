// Managed skills and MCP servers from Settings reach Codex (the real binary, against the fake
// Responses API), through `-c` overrides and the task's own HOME, with the owner's CODEX_HOME
// (its config.toml) left byte for byte as it was. The capabilities go through the real
// CapabilityManager (download, policy), as on a device.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  symlinkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_RUNTIME_SETTINGS,
  type DeviceCapabilitiesFrame,
  type PermissionMode,
} from "@wegent/protocol";
import { type FakeResponses, startFakeResponses } from "../../e2e/fake-model/responses";
import { CapabilityManager } from "../src/capabilities/manager";
import { mcpPolicy } from "../src/capabilities/mcp-policy";
import { silentLogger } from "../src/log";
import { providerConfig } from "../src/runtime/codex/home";
import { codexCapabilities, placeManagedSkills } from "../src/runtime/codex/capabilities";
import { answerMcpApproval } from "../src/runtime/codex/mcp-approval";
import { createCodexRuntime } from "../src/runtime/codex/runtime";
import type { AgentRuntime, InputQuestion } from "../src/runtime/types";
import { processesOfTask, request, runAndRecord, type TaskDirs, taskDirs } from "./runtime-helpers";

const CODEX = join(import.meta.dirname, "../../node_modules/.bin/codex");
const SECRET = "mcp-secret-value-7f3a9c-must-stay-off-command-lines";
const HEADER_SECRET = "header-secret-value-51d2e8-off-command-lines";

/**
 * A stdio MCP server with one tool, `shout`: it answers with the text upper-cased, the secret
 * variable it got, and whether the secret is in its own or its parent's (codex app-server's)
 * command line or in its parent's environment.
 */
const MCP_SERVER = `
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
const has = (path) => { try { return readFileSync(path, "utf8").includes(process.env.ECHO_SECRET ?? "\\0none"); } catch { return "unreadable"; } };
createInterface({ input: process.stdin }).on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  const result = (result) => send({ jsonrpc: "2.0", id: msg.id, result });
  if (msg.method === "initialize") return result({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "echo", version: "1.0.0" } });
  if (msg.method === "tools/list") return result({ tools: [{ name: "shout", description: "Shouts the text back", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } }] });
  if (msg.method === "tools/call") {
    const facts = [
      String(msg.params.arguments?.text ?? "").toUpperCase(),
      "secret=" + (process.env.ECHO_SECRET ?? "none"),
      "ownCmdline=" + has("/proc/self/cmdline"),
      "codexCmdline=" + has("/proc/" + process.ppid + "/cmdline"),
      "codexEnviron=" + has("/proc/" + process.ppid + "/environ"),
    ];
    return result({ content: [{ type: "text", text: facts.join(" ") }] });
  }
  send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no such method" } });
});
`;

const SKILL_MD =
  "---\nname: release-notes\ndescription: Writes release notes in the team's house style.\n---\n\nUse short lines.\n";

let fake: FakeResponses;
const dirs: TaskDirs[] = [];

beforeAll(async () => {
  fake = await startFakeResponses();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

/** A task, and an owner's CODEX_HOME (config.toml naming the fake provider, a skill of theirs). */
function setup() {
  const d = taskDirs();
  dirs.push(d);
  const owner = join(d.root, "owner-codex");
  mkdirSync(join(owner, "skills", "own-skill"), { recursive: true });
  writeFileSync(
    join(owner, "config.toml"),
    providerConfig({ name: "fake", baseUrl: fake.url, model: "fake-model", envKey: "FAKE_KEY" }) +
      '\n# the owner\'s own comment\n[mcp_servers.owners-own]\ncommand = "true"\nenabled = false\n',
  );
  writeFileSync(
    join(owner, "skills", "own-skill", "SKILL.md"),
    "---\nname: own-skill\ndescription: The owner's hand-made skill.\n---\n",
  );
  const server = join(d.root, "mcp-echo.mjs");
  writeFileSync(server, MCP_SERVER);
  return { d, owner, server, configBefore: readFileSync(join(owner, "config.toml")) };
}

/** The executor's CapabilityManager with `frame` applied (skills "downloaded" from a fake backend). */
async function managed(
  d: TaskDirs,
  frame: Omit<DeviceCapabilitiesFrame, "type" | "digest" | "runtime">,
  permissionMode: PermissionMode = "bypassPermissions",
  allowStdio = false,
) {
  const home = join(d.root, "executor-home");
  mkdirSync(home, { recursive: true });
  const manager = new CapabilityManager({
    homeDir: home,
    backendUrl: "ws://127.0.0.1:1",
    log: silentLogger,
    mcpPolicy: mcpPolicy(
      { allowStdio, allowEnv: ["ECHO_SECRET", "HEADER_SECRET"] },
      permissionMode,
    ),
    fetch: (() =>
      Promise.resolve(
        Response.json({
          name: "release-notes",
          files: [
            {
              path: "SKILL.md",
              executable: false,
              dataBase64: Buffer.from(SKILL_MD).toString("base64"),
            },
          ],
        }),
      )) as unknown as typeof fetch,
  });
  await manager.apply({
    type: "device:capabilities",
    digest: "a".repeat(64),
    runtime: DEFAULT_RUNTIME_SETTINGS,
    ...frame,
  });
  expect(manager.applied().error).toBeNull();
  return manager.forRun();
}

function runtime(owner: string): AgentRuntime {
  return createCodexRuntime({
    executable: CODEX,
    extraEnv: { FAKE_KEY: "test-key" },
    // Local mode: the owner's own CODEX_HOME; the device's variables the definitions name.
    userEnv: {
      PATH: process.env.PATH,
      LANG: "C.UTF-8",
      CODEX_HOME: owner,
      ECHO_SECRET: SECRET,
      HEADER_SECRET: HEADER_SECRET,
      WEGENT_TOKEN: "device-token-never-for-the-agent",
    },
  });
}

/**
 * A streamable-HTTP MCP server on loopback with one tool, `lookup`. It records the `x-api-key`
 * header of every request and, when the tool is called, whether the header's value is on the
 * command line of any process of the task (codex app-server among them).
 */
async function startHttpMcp(homeDir: () => string) {
  const seen = { keys: [] as string[], onCommandLine: [] as string[] };
  const server = createServer((req, res) => {
    const key = req.headers["x-api-key"];
    if (typeof key === "string") seen.keys.push(key);
    if (req.method !== "POST") {
      res.writeHead(req.method === "GET" ? 405 : 404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const msg = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        id?: number;
        method: string;
        params?: { protocolVersion?: string };
      };
      if (msg.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const reply = (result: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result }));
      };
      if (msg.method === "initialize") {
        reply({
          protocolVersion: msg.params?.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: "web", version: "1.0.0" },
        });
      } else if (msg.method === "tools/list") {
        reply({
          tools: [{ name: "lookup", description: "Looks it up", inputSchema: { type: "object" } }],
        });
      } else if (msg.method === "tools/call") {
        for (const p of processesOfTask(homeDir())) {
          if (p.cmd.includes(HEADER_SECRET)) seen.onCommandLine.push(p.cmd);
        }
        reply({ content: [{ type: "text", text: "looked up" }] });
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no" } }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Tool = { type?: string; name?: string; tools?: Array<{ name?: string }> };
const toolsOf = (i: number) => (fake.requests[i]?.tools ?? []) as Tool[];
const instructionsOf = (i: number) => JSON.stringify(fake.requests[i]?.input ?? []);

describe("Codex with managed skills and MCP servers", () => {
  it("offers and calls a managed stdio MCP server; its variable never on a command line or in Codex's commands", async () => {
    const { d, owner, server, configBefore } = setup();
    const caps = await managed(d, {
      skills: [],
      mcpServers: [
        {
          name: "echo",
          transport: "stdio",
          command: process.execPath,
          args: [server],
          env: ["ECHO_SECRET"],
        },
      ],
    });
    const rt = runtime(owner);
    const first = fake.requests.length;
    const rec = await runAndRecord(rt, {
      ...request(d, 'tool: mcp__wegent_echo.shout {"text":"hello mcp"}'),
      permissionMode: "bypassPermissions",
      capabilities: caps,
    });
    expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
    // The model was offered the server's tool, under the managed name.
    const namespace = toolsOf(first).find((t) => t.name === "mcp__wegent_echo");
    expect(namespace?.tools?.map((t) => t.name)).toEqual(["shout"]);
    // It ran, with the device's variable, which is on no command line and not in Codex's env.
    expect(rec.streamedText).toContain(
      `HELLO MCP secret=${SECRET} ownCmdline=false codexCmdline=false codexEnviron=false`,
    );
    // The transcript shows the call and its result, as Claude Code's MCP calls.
    const use = rec.events.find((e) => e.kind === "tool_use");
    expect(use).toMatchObject({ name: "mcp__wegent-echo__shout", input: { text: "hello mcp" } });
    const result = rec.events.find((e) => e.kind === "tool_result");
    expect(result).toMatchObject({
      toolUseId: use?.kind === "tool_use" ? use.toolUseId : "?",
      isError: false,
    });
    if (result?.kind === "tool_result") expect(result.summary).toMatch(/^HELLO MCP secret=/);

    // The commands the model runs do not see it either; the agent variables of Settings
    // (agentEnv) they do, without replacing the task's HOME.
    const env = await runAndRecord(rt, {
      ...request(d, "run: env"),
      permissionMode: "bypassPermissions",
      capabilities: {
        ...caps,
        runtime: { ...caps.runtime, agentEnv: ["HEADER_SECRET", "HOME", "WEGENT_TOKEN"] },
      },
    });
    const output = env.events.find((e) => e.kind === "tool_result");
    if (output?.kind !== "tool_result") throw new Error("no command output");
    expect(output.summary).toContain("PATH=");
    expect(output.summary).not.toContain(SECRET);
    expect(output.summary).toContain(`HEADER_SECRET=${HEADER_SECRET}`);
    expect(output.summary).toContain(`HOME=${d.homeDir}`);
    expect(output.summary).not.toContain("WEGENT_");
    // The run's secret file went with the run.
    expect(existsSync(join(d.root, "codex-mcp"))).toBe(false);
    expect(readFileSync(join(owner, "config.toml")).equals(configBefore)).toBe(true);
  }, 90_000);

  it("shows a managed skill to Codex for the task only; the owner's config.toml and skills stay as they were", async () => {
    const { d, owner, server, configBefore } = setup();
    // A device whose permission floor asks, without managedMcp.allowStdio: no stdio server.
    const caps = await managed(
      d,
      {
        skills: [
          {
            name: "release-notes",
            sha256: "b".repeat(64),
            url: "/api/skills/x/bundle",
            token: "t",
          },
        ],
        mcpServers: [
          { name: "echo", transport: "stdio", command: process.execPath, args: [server], env: [] },
        ],
      },
      "default",
    );
    expect(caps.pluginDir).not.toBeNull();
    const rt = runtime(owner);
    const first = fake.requests.length;
    const rec = await runAndRecord(rt, {
      ...request(d, "Hello with skills"),
      permissionMode: "bypassPermissions",
      capabilities: caps,
    });
    expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
    const instructions = instructionsOf(first);
    // Listed with its description, from the task's own HOME; the owner's skill still there.
    expect(instructions).toContain(
      "release-notes: Writes release notes in the team's house style.",
    );
    expect(instructions).toContain(join(d.homeDir, ".agents", "skills"));
    expect(instructions).toContain("own-skill: The owner's hand-made skill.");
    expect(
      readFileSync(join(d.homeDir, ".agents/skills/wegent/release-notes/SKILL.md"), "utf8"),
    ).toBe(SKILL_MD);
    // The device's policy refused the stdio server: not offered.
    expect(toolsOf(first).some((t) => t.name?.startsWith("mcp__wegent"))).toBe(false);
    // Nothing of ours in the owner's CODEX_HOME; its config.toml byte for byte the same.
    expect(readFileSync(join(owner, "config.toml")).equals(configBefore)).toBe(true);
    expect(readdirSync(join(owner, "skills")).filter((n) => !n.startsWith("."))).toEqual([
      "own-skill",
    ]);

    // A run without managed skills: the task's copy goes, so Codex no longer lists it.
    const next = fake.requests.length;
    const again = await runAndRecord(rt, {
      ...request(d, "Hello without skills"),
      permissionMode: "bypassPermissions",
      capabilities: { ...caps, pluginDir: null, mcpServers: [] },
    });
    expect(again.outcome.ok).toBe(true);
    expect(instructionsOf(next)).not.toContain("release-notes");
    expect(existsSync(join(d.homeDir, ".agents/skills/wegent"))).toBe(false);
  }, 90_000);

  it("sends a managed HTTP server's header from the device's variable, never on a command line", async () => {
    const { d, owner, configBefore } = setup();
    const http = await startHttpMcp(() => d.homeDir);
    try {
      const caps = await managed(
        d,
        {
          skills: [],
          mcpServers: [
            {
              name: "web",
              transport: "http",
              url: http.url,
              headers: [{ name: "X-Api-Key", env: "HEADER_SECRET" }],
            },
          ],
        },
        "default",
      );
      const first = fake.requests.length;
      const rec = await runAndRecord(runtime(owner), {
        ...request(d, 'tool: mcp__wegent_web.lookup {"q":"x"}'),
        permissionMode: "bypassPermissions",
        capabilities: caps,
      });
      expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
      expect(toolsOf(first).find((t) => t.name === "mcp__wegent_web")?.tools?.[0]?.name).toBe(
        "lookup",
      );
      expect(rec.streamedText).toContain("looked up");
      expect(http.seen.keys.length).toBeGreaterThan(0);
      expect(new Set(http.seen.keys)).toEqual(new Set([HEADER_SECRET]));
      expect(http.seen.onCommandLine).toEqual([]);
      expect(readFileSync(join(owner, "config.toml")).equals(configBefore)).toBe(true);
    } finally {
      await http.close();
    }
  }, 90_000);

  it("asks before a managed MCP tool call in default mode: Allow runs it, Deny does not", async () => {
    const { d, owner, server } = setup();
    // A device that asks, whose device-config.json lets managed stdio servers start.
    const caps = await managed(
      d,
      {
        skills: [],
        mcpServers: [
          { name: "echo", transport: "stdio", command: process.execPath, args: [server], env: [] },
        ],
      },
      "default",
      true,
    );
    const rt = runtime(owner);
    for (const behavior of ["allow", "deny"] as const) {
      const asked: InputQuestion[] = [];
      const rec = await runAndRecord(rt, {
        ...request(d, `tool: mcp__wegent_echo.shout {"text":"${behavior} me"}`),
        permissionMode: "default",
        capabilities: caps,
        ask: (question) => {
          asked.push(question);
          return Promise.resolve({ behavior });
        },
      });
      expect(rec.outcome, JSON.stringify(rec.outcome)).toMatchObject({ ok: true });
      expect(asked).toEqual([
        { kind: "permission", tool: "mcp__wegent-echo__shout", input: { text: `${behavior} me` } },
      ]);
      const result = rec.events.find((e) => e.kind === "tool_result");
      if (behavior === "allow") {
        expect(rec.streamedText).toContain("ALLOW ME secret=none");
        expect(result).toMatchObject({ isError: false });
      } else {
        expect(rec.streamedText).not.toContain("DENY ME");
        expect(rec.streamedText).toContain("rejected");
        expect(result).toMatchObject({ isError: true });
      }
    }
  }, 90_000);

  it("answers Codex's MCP approval: Allow for this task persists for the session; other elicitations are declined unasked", async () => {
    const signal = new AbortController().signal;
    const params = {
      serverName: "wegent-echo",
      mode: "form",
      message: "Allow?",
      requestedSchema: { type: "object", properties: {} },
      _meta: {
        codex_approval_kind: "mcp_tool_call",
        persist: ["session", "always"],
        tool_name: "shout",
        tool_params: { text: "x" },
      },
    };
    const allowTask = () =>
      Promise.resolve({ behavior: "allow" as const, remember: "task" as const });
    expect(await answerMcpApproval(params, allowTask, signal)).toEqual({
      action: "accept",
      content: {},
      _meta: { persist: "session" },
    });
    let asked = 0;
    const count = () => {
      asked += 1;
      return Promise.resolve({ behavior: "allow" as const });
    };
    const form = { ...params, _meta: null, message: "Your password?" };
    expect(await answerMcpApproval(form, count, signal)).toMatchObject({ action: "decline" });
    expect(await answerMcpApproval(params, undefined, signal)).toMatchObject({ action: "decline" });
    expect(asked).toBe(0);
  });

  it("carries awkward arguments and secret values exactly (Codex's own TOML reading, the shell's)", async () => {
    const { d, owner } = setup();
    const nasty = ['a"b', "c'd", "e\\f", "new\nline", "del\u007f", "ü€", '"}, command = "evil'];
    const secret = 'it\'s "quoted" $HOME `id` \\n\nnext line';
    const caps = await codexCapabilities(
      {
        pluginDir: null,
        runtime: DEFAULT_RUNTIME_SETTINGS,
        mcpServers: [
          {
            name: "odd_1",
            transport: "stdio",
            command: "/opt/my tools/server",
            args: nasty,
            env: ["ODD"],
          },
        ],
      },
      { ODD: secret },
      d.homeDir,
    );
    try {
      const out = execFileSync(CODEX, ["mcp", "get", "wegent-odd_1", "--json", ...caps.args], {
        env: { PATH: process.env.PATH, HOME: d.homeDir, TMPDIR: d.tmpDir, CODEX_HOME: owner },
        encoding: "utf8",
      });
      const transport = (JSON.parse(out) as { transport: { command: string; args: string[] } })
        .transport;
      expect(transport.command).toBe("/bin/sh");
      const file = transport.args[2]!;
      expect(transport.args).toEqual([
        "-c",
        '. "$0" && exec "$@"',
        file,
        "/opt/my tools/server",
        ...nasty,
      ]);
      expect(caps.args.join(" ")).not.toContain(secret);
      // The wrapper, with printf as the "server": the value arrives exactly.
      const printed = execFileSync(
        "/bin/sh",
        ["-c", '. "$0" && exec "$@"', file, "printenv", "ODD"],
        {
          env: { PATH: process.env.PATH },
          encoding: "utf8",
        },
      );
      expect(printed).toBe(`${secret}\n`);
    } finally {
      await caps.dispose();
    }
    expect(existsSync(join(d.root, "codex-mcp"))).toBe(false);
  });

  it("never follows a link the agent planted at ~/.agents or ~/.agents/skills", async () => {
    const { d } = setup();
    const plugin = join(d.root, "plugin");
    mkdirSync(join(plugin, "skills", "release-notes"), { recursive: true });
    writeFileSync(join(plugin, "skills", "release-notes", "SKILL.md"), SKILL_MD);
    // The owner's real folders, which a link in the task's HOME points at.
    const victim = join(d.root, "owners-agents");
    mkdirSync(join(victim, "skills", "wegent", "precious"), { recursive: true });
    writeFileSync(join(victim, "skills", "wegent", "precious", "SKILL.md"), "mine");
    for (const [link, target] of [
      [join(d.homeDir, ".agents"), victim],
      [join(d.homeDir, ".agents", "skills"), join(victim, "skills")],
    ] as const) {
      mkdirSync(join(link, ".."), { recursive: true });
      symlinkSync(target, link);
      await placeManagedSkills(d.homeDir, plugin);
      expect(readFileSync(join(victim, "skills", "wegent", "precious", "SKILL.md"), "utf8")).toBe(
        "mine",
      );
      expect(existsSync(join(victim, "skills", "wegent", "release-notes"))).toBe(false);
      expect(
        readFileSync(join(d.homeDir, ".agents/skills/wegent/release-notes/SKILL.md"), "utf8"),
      ).toBe(SKILL_MD);
      execFileSync("rm", ["-rf", join(d.homeDir, ".agents")]);
    }
  });
});
