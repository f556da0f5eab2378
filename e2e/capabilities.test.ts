// Capabilities follow the user: a skill uploaded in Settings reaches a device that was offline,
// disabling it removes it there (and only there), an MCP server defined in Settings is offered to
// the agent and works, the appended system prompt reaches the model, and the device's
// pre-execute hook can stop a task. Real platform, real executor, real Claude Code, fake model.
import { scene } from "./scene";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Device, TaskWithMessages } from "@wegent/protocol";
import { requestText, systemText, text, toolNames, toolUse } from "./fake-model/server";
import { api, startExecutor, until } from "./harness";
import { makeZip, skillMd } from "../worker/test/zip-writer";

const s = scene("caps_user", { vars: { DEVICE_GRACE_SECONDS: "2" } });

async function launch(options: Partial<Parameters<typeof startExecutor>[0]> = {}) {
  const ex = startExecutor({
    origin: s.platform.origin,
    token: s.token,
    modelUrl: s.fake.url,
    ...options,
  });
  s.executors.push(ex);
  await ex.waitFor("registered");
  return ex;
}

async function device(deviceId: string): Promise<Device | undefined> {
  const res = await api<{ devices: Device[] }>(s.platform.origin, "GET", "/api/devices", {
    cookie: s.user.cookie,
  });
  return res.body.devices.find((d) => d.id === deviceId);
}

async function synced(deviceId: string, notDigest: string | null = null) {
  return until(
    async () => {
      const d = await device(deviceId);
      return d?.capabilities.state === "synced" && d.capabilities.digest !== notDigest
        ? d
        : undefined;
    },
    30_000,
    `device ${deviceId} to be synced`,
  );
}

async function settled(taskId: string) {
  return until(
    async () => {
      const d = (
        await api<TaskWithMessages>(s.platform.origin, "GET", `/api/tasks/${taskId}`, {
          cookie: s.user.cookie,
        })
      ).body;
      const last = d.messages.at(-1);
      return last && ["completed", "failed", "cancelled"].includes(last.status) ? d : undefined;
    },
    90_000,
    `task ${taskId} to end`,
  );
}

async function send(prompt: string, deviceId: string, taskId?: string) {
  const res = taskId
    ? await api<TaskWithMessages>(s.platform.origin, "POST", `/api/tasks/${taskId}/messages`, {
        cookie: s.user.cookie,
        body: { message: prompt },
      })
    : await api<TaskWithMessages>(s.platform.origin, "POST", "/api/tasks", {
        cookie: s.user.cookie,
        body: { message: prompt, target: { deviceId } },
      });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return settled(res.body.task.id);
}

const requestsFor = (prompt: string) =>
  s.fake.requests.filter((r) => r.prompt?.includes(prompt) === true);

async function uploadSkill(zip: Uint8Array) {
  const res = await fetch(`${s.platform.origin}/api/skills`, {
    method: "POST",
    headers: {
      Cookie: s.user.cookie,
      "Content-Type": "application/zip",
      Origin: s.platform.origin,
    },
    body: Buffer.from(zip),
  });
  const body = (await res.json()) as { skill: { id: string } };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.skill;
}

describe("capabilities managed in Settings", () => {
  it("a skill uploaded while the device was offline reaches it; disabling removes only it", async () => {
    const first = await launch();
    const deviceId = first.deviceId;
    await first.stop();
    await until(async () => (await device(deviceId))?.status === "offline", 30_000, "offline");

    const skill = await uploadSkill(
      await makeZip([
        {
          path: "zebra-notes/SKILL.md",
          data: skillMd("zebra-notes", "Writes field notes about zebras ZEBRA-SKILL-7F3"),
        },
        { path: "zebra-notes/reference.md", data: "stripes", deflate: true },
      ]),
    );
    expect((await device(deviceId))?.capabilities.state).toBe("pending");

    // The device comes back (a new home: nothing of the first run is left on disk).
    const ex = await launch({ deviceId });
    const online = await synced(deviceId);
    const pluginSkill = join(ex.home, "capabilities", "plugin", "skills", "zebra-notes");
    expect(readFileSync(join(pluginSkill, "reference.md"), "utf8")).toBe("stripes");

    const done = await send("list your skills please", deviceId);
    expect(done.messages.at(-1)?.status).toBe("completed");
    const seen = requestsFor("list your skills please")[0];
    expect(seen && requestText(seen)).toContain("ZEBRA-SKILL-7F3");
    expect(seen && requestText(seen)).toContain("wegent:zebra-notes");

    // The user's own skill, made by hand: where Claude Code looks for it (the task's HOME now,
    // the user's real HOME once local mode uses it), with the same name as the managed one.
    const handMade = [
      join(ex.home, "tasks", done.task.id, "home", ".claude", "skills", "zebra-notes"),
      join(ex.home, ".claude", "skills", "zebra-notes"),
    ];
    const handMadeText = skillMd("zebra-notes", "My own hand-made zebra skill HANDMADE-9Q");
    for (const dir of handMade) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "SKILL.md"), handMadeText);
    }

    const off = await api(s.platform.origin, "PATCH", `/api/skills/${skill.id}`, {
      cookie: s.user.cookie,
      body: { enabled: false },
    });
    expect(off.status).toBe(200);
    await synced(deviceId, online.capabilities.digest);
    expect(existsSync(pluginSkill)).toBe(false);
    for (const dir of handMade)
      expect(readFileSync(join(dir, "SKILL.md"), "utf8")).toBe(handMadeText);

    const again = await send("and list them again", deviceId, done.task.id);
    expect(again.messages.at(-1)?.status).toBe("completed");
    const later = requestsFor("and list them again")[0];
    // The follow-up carries the earlier turns (with the old listing); what the agent is told
    // now comes after the new prompt.
    const body = later ? requestText(later) : "";
    const now = body.slice(body.lastIndexOf("and list them again"));
    expect(now).toContain("The following skills are available");
    expect(now).toContain("HANDMADE-9Q");
    expect(now).not.toContain("ZEBRA-SKILL-7F3");
    expect(now).not.toContain("wegent:zebra-notes");
  });

  it("offers an MCP server defined in Settings, with the env the device allows, and the agent can call it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wegent-mcp-"));
    const script = join(dir, "zoo-server.mjs");
    writeFileSync(
      script,
      `import { createInterface } from "node:readline";
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
createInterface({ input: process.stdin }).on("line", (line) => {
  let m; try { m = JSON.parse(line); } catch { return; }
  if (m.method === "initialize") send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "zoo", version: "1.0.0" } } });
  else if (m.method === "tools/list") send({ jsonrpc: "2.0", id: m.id, result: { tools: [{ name: "zebra_count", description: "Counts the zebras in the zoo", inputSchema: { type: "object", properties: {} } }] } });
  else if (m.method === "tools/call") send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "zebras: 7, key " + (process.env.ZOO_KEY ?? "missing") }] } });
  else if (m.id !== undefined) send({ jsonrpc: "2.0", id: m.id, result: {} });
});
`,
    );
    // The device lists the one variable managed MCP definitions may read (default: none).
    const home = mkdtempSync(join(tmpdir(), "wegent-exec-"));
    writeFileSync(
      join(home, "device-config.json"),
      JSON.stringify({ managedMcp: { allowEnv: ["ZOO_KEY"] } }),
    );
    const ex = await launch({ home, env: { ZOO_KEY: "zk-from-the-device" } });
    const before = await synced(ex.deviceId);
    const created = await api(s.platform.origin, "POST", "/api/mcp-servers", {
      cookie: s.user.cookie,
      body: {
        name: "zoo",
        transport: "stdio",
        command: process.execPath,
        args: [script],
        env: ["ZOO_KEY"],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // A server that cannot start must not stop tasks.
    const broken = await api(s.platform.origin, "POST", "/api/mcp-servers", {
      cookie: s.user.cookie,
      body: { name: "broken", transport: "stdio", command: "/nonexistent/mcp-server" },
    });
    expect(broken.status).toBe(201);
    await synced(ex.deviceId, before.capabilities.digest);

    const tool = "mcp__wegent-zoo__zebra_count";
    s.fake.on("count the zebras", [
      { blocks: [toolUse("ToolSearch", { query: `select:${tool}`, max_results: 5 })] },
      { blocks: [toolUse(tool, {})] },
      { blocks: [text("There are 7 zebras.")] },
    ]);
    const done = await send("count the zebras", ex.deviceId);
    expect(done.messages.at(-1)?.status, JSON.stringify(done.messages.at(-1))).toBe("completed");
    const requests = requestsFor("count the zebras");
    // Offered from the first request on, then loaded into the tools list and called.
    expect(requests[0] && requestText(requests[0])).toContain(tool);
    expect(requests.some((r) => toolNames(r).includes(tool))).toBe(true);
    const last = requests.at(-1);
    expect(last && requestText(last)).toContain("zebras: 7, key zk-from-the-device");
    const listed = await device(ex.deviceId);
    expect(listed?.capabilities.policy).toEqual({
      permissionMode: "bypassPermissions",
      stdio: true,
      env: ["ZOO_KEY"],
      skipped: [],
    });
  });

  it("the appended system prompt and the model reach the model API; a follow-up keeps its task's prompt, a new task takes the change", async () => {
    const ex = await launch();
    const before = await synced(ex.deviceId);
    const put = async (appendSystemPrompt: string, model: string | null = null) =>
      api(s.platform.origin, "PUT", "/api/settings/runtime", {
        cookie: s.user.cookie,
        body: { appendSystemPrompt, model },
      });
    expect(
      (await put("Always end with the word PIRATE-APPEND-1.", "claude-wegent-test-7")).status,
    ).toBe(200);
    const one = await synced(ex.deviceId, before.capabilities.digest);
    const done = await send("say hi with settings", ex.deviceId);
    const first = requestsFor("say hi with settings")[0];
    expect(first && systemText(first)).toContain("PIRATE-APPEND-1");
    expect((first?.body as { model?: string } | null)?.model).toBe("claude-wegent-test-7");

    expect(
      (await put("Always end with the word PIRATE-APPEND-2.", "claude-wegent-test-8")).status,
    ).toBe(200);
    await synced(ex.deviceId, one.capabilities.digest);
    await send("say hi again with settings", ex.deviceId, done.task.id);
    const second = requestsFor("say hi again with settings")[0];
    // Claude Code records the rendered prompt in the session and a follow-up sends that record
    // (docs/local-work.md); the model is chosen per request and changes at once.
    expect(second && systemText(second)).toContain("PIRATE-APPEND-1");
    expect(second && systemText(second)).not.toContain("PIRATE-APPEND-2");
    expect((second?.body as { model?: string } | null)?.model).toBe("claude-wegent-test-8");
    await send("say hi in a new task with settings", ex.deviceId);
    const fresh = requestsFor("say hi in a new task with settings")[0];
    expect(fresh && systemText(fresh)).toContain("PIRATE-APPEND-2");
    expect(fresh && systemText(fresh)).not.toContain("PIRATE-APPEND-1");
    await put("");
  });

  it("a pre-execute hook that exits 1 stops the task with its words; one past its timeout is killed", async () => {
    const home = mkdtempSync(join(tmpdir(), "wegent-hook-home-"));
    const hook = join(home, "hook.mjs");
    const mode = join(home, "mode");
    writeFileSync(
      hook,
      `import { readFileSync, writeFileSync } from "node:fs";
const mode = readFileSync(${JSON.stringify(mode)}, "utf8").trim();
writeFileSync(${JSON.stringify(join(home, "hook.pid"))}, String(process.pid));
writeFileSync(${JSON.stringify(join(home, "hook.env"))}, JSON.stringify({ task: process.env.WEGENT_TASK_ID, ws: process.env.WEGENT_WORKSPACE, token: process.env.WEGENT_TOKEN ?? null }));
if (mode === "fail") { console.error("checking the repository"); console.error("policy check failed: secrets in .env"); process.exit(1); }
if (mode === "sleep") { console.error("waiting for the VPN"); setTimeout(() => {}, 60000); }
`,
    );
    writeFileSync(
      join(home, "device-config.json"),
      JSON.stringify({ preExecuteHook: { argv: [process.execPath, hook], timeoutSec: 2 } }),
    );
    const deviceId = `e2ehook${Date.now().toString(16)}`;
    writeFileSync(join(home, "device_id"), `${deviceId}\n`);
    await launch({ deviceId, env: { WEGENT_EXECUTOR_HOME: home } });

    writeFileSync(mode, "fail");
    const failed = await send("run with a failing hook", deviceId);
    const reply = failed.messages.at(-1);
    expect(reply).toMatchObject({ status: "failed", errorCode: "hook_failed" });
    expect(reply?.errorMessage).toContain("exited with 1");
    expect(reply?.errorMessage).toContain("policy check failed: secrets in .env");
    expect(requestsFor("run with a failing hook")).toEqual([]);
    const env = JSON.parse(readFileSync(join(home, "hook.env"), "utf8")) as Record<string, unknown>;
    expect(env).toMatchObject({ task: failed.task.id, token: null });
    expect(env.ws).toContain(failed.task.id);

    writeFileSync(mode, "sleep");
    const started = Date.now();
    const slow = await send("run with a slow hook", deviceId);
    expect(slow.messages.at(-1)).toMatchObject({ status: "failed", errorCode: "hook_failed" });
    expect(slow.messages.at(-1)?.errorMessage).toContain("timeout");
    expect(slow.messages.at(-1)?.errorMessage).toContain("waiting for the VPN");
    expect(Date.now() - started).toBeLessThan(20_000);
    const pid = Number(readFileSync(join(home, "hook.pid"), "utf8"));
    await until(() => !alive(pid), 5000, "the hook process to be gone");

    writeFileSync(mode, "ok");
    s.fake.on("run with a passing hook", [{ blocks: [text("Ran after the hook.")] }]);
    const ok = await send("run with a passing hook", deviceId);
    expect(ok.messages.at(-1)).toMatchObject({
      status: "completed",
      content: "Ran after the hook.",
    });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}
