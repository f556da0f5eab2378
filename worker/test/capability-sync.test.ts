import { describe, expect, it } from "vitest";
import type { Device, HubFrame } from "@wegent/protocol";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, openLive, registerDevice } from "./device-client";
import { makeZip, skillMd } from "./zip-writer";
import { SELF, env } from "cloudflare:test";

type CapabilitiesFrame = Extract<HubFrame, { type: "device:capabilities" }>;

async function listed(cookie: string, deviceId: string): Promise<Device | undefined> {
  const res = await call("GET", "/api/devices", { cookie });
  return (res.body as { devices: Device[] }).devices.find((d) => d.id === deviceId);
}

describe("capability sync through the device hub", () => {
  it("sends the desired state on register and on each change; the device's report sets its state", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    await call("PUT", "/api/settings/runtime", {
      cookie: user.cookie,
      body: { appendSystemPrompt: "Be brief." },
    });
    const deviceId = newDeviceId();
    const { socket } = await registerDevice(token, deviceId);
    const first = (await socket.next("device:capabilities")) as CapabilitiesFrame;
    expect(first.runtime.appendSystemPrompt).toBe("Be brief.");
    expect(first.skills).toEqual([]);
    expect((await listed(user.cookie, deviceId))?.capabilities.state).toBe("pending");

    const live = await openLive(user.cookie);
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      capabilities: { digest: first.digest, error: null },
    });
    await live.next(
      "device:status",
      (f) => f.type === "device:status" && f.device.capabilities.state === "synced",
    );
    expect((await listed(user.cookie, deviceId))?.capabilities).toEqual({
      state: "synced",
      digest: first.digest,
      error: null,
      policy: null,
    });

    // What the device's device-config.json lets managed MCP servers do reaches the listing.
    const policy = {
      permissionMode: "default" as const,
      stdio: false,
      env: ["GITHUB_TOKEN"],
      skipped: ["wegent-zoo not started: …"],
    };
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      capabilities: { digest: first.digest, error: null, policy },
    });
    await live.next(
      "device:status",
      (f) => f.type === "device:status" && f.device.capabilities.policy?.stdio === false,
    );
    expect((await listed(user.cookie, deviceId))?.capabilities.policy).toEqual(policy);
    // An older executor's report (no policy) leaves it as it was.
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      capabilities: { digest: first.digest, error: "older report" },
    });
    await live.next(
      "device:status",
      (f) => f.type === "device:status" && f.device.capabilities.error === "older report",
    );
    expect((await listed(user.cookie, deviceId))?.capabilities.policy).toEqual(policy);
    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      capabilities: { digest: first.digest, error: null },
    });
    await live.next(
      "device:status",
      (f) => f.type === "device:status" && f.device.capabilities.state === "synced",
    );

    // A change reaches the connected device at once, and the device is pending until it reports.
    const zip = await makeZip([{ path: "SKILL.md", data: skillMd("notes", "Takes notes.") }]);
    const up = await SELF.fetch("http://wegent.test/api/skills", {
      method: "POST",
      headers: {
        Cookie: user.cookie,
        "Content-Type": "application/zip",
        Origin: "http://wegent.test",
      },
      body: zip,
    });
    expect(up.status).toBe(201);
    const second = (await socket.next("device:capabilities")) as CapabilitiesFrame;
    expect(second.digest).not.toBe(first.digest);
    expect(second.skills.map((s) => s.name)).toEqual(["notes"]);
    expect((await listed(user.cookie, deviceId))?.capabilities.state).toBe("pending");

    // The device downloads with the token from the frame.
    const bundle = await call("GET", second.skills[0]!.url, { token: second.skills[0]!.token });
    expect(bundle.status).toBe(200);

    socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      capabilities: { digest: first.digest, error: "skill notes: download answered 500" },
    });
    const failed = await eventually(async () => {
      const d = await listed(user.cookie, deviceId);
      return d?.capabilities.state === "failed" ? d : undefined;
    });
    expect(failed.capabilities.error).toContain("download answered 500");

    // Another user's changes never reach this device.
    const other = await signUp();
    await call("PUT", "/api/settings/runtime", { cookie: other.cookie, body: { maxTurns: 3 } });
    await new Promise((r) => setTimeout(r, 200));
    expect(socket.frames.filter((f) => f.type === "device:capabilities")).toEqual([]);
    socket.close();
    live.close();
  });

  it("a device that was offline gets the current state when it registers again", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const deviceId = newDeviceId();
    const one = await registerDevice(token, deviceId);
    const before = (await one.socket.next("device:capabilities")) as CapabilitiesFrame;
    one.socket.close();
    await call("POST", "/api/mcp-servers", {
      cookie: user.cookie,
      body: { name: "files", transport: "stdio", command: "node", args: ["s.js"] },
    });
    const two = await registerDevice(token, deviceId);
    const after = (await two.socket.next("device:capabilities")) as CapabilitiesFrame;
    expect(after.digest).not.toBe(before.digest);
    expect(after.mcpServers).toEqual([
      { name: "files", transport: "stdio", command: "node", args: ["s.js"], env: [] },
    ]);
    two.socket.close();
  });
});

describe("per-device max slots", () => {
  it("limits parallel tasks to the owner's choice, never above what the executor offers", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const deviceId = newDeviceId();
    const { socket } = await registerDevice(token, deviceId, { maxSlots: 3 });
    const set = await call("PUT", `/api/devices/${deviceId}/slots`, {
      cookie: user.cookie,
      body: { maxSlots: 1 },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect((set.body as { device: Device }).device).toMatchObject({ slotLimit: 1 });
    const statuses: string[] = [];
    for (const message of ["one", "two"]) {
      const res = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message, target: { deviceId } },
      });
      const body = res.body as { messages: { role: string; status: string }[] };
      statuses.push(body.messages.find((m) => m.role === "assistant")!.status);
    }
    expect(statuses).toEqual(["running", "queued"]);
    expect(await listed(user.cookie, deviceId)).toMatchObject({ maxSlots: 1, status: "busy" });

    // Raising the limit starts the queued task at once; above the executor's offer, it offers 3.
    await call("PUT", `/api/devices/${deviceId}/slots`, {
      cookie: user.cookie,
      body: { maxSlots: 5 },
    });
    expect(await listed(user.cookie, deviceId)).toMatchObject({ maxSlots: 3, slotsUsed: 2 });
    expect(socket.frames.filter((f) => f.type === "task:execute")).toHaveLength(2);

    for (const bad of [0, 6, "2"]) {
      const res = await call("PUT", `/api/devices/${deviceId}/slots`, {
        cookie: user.cookie,
        body: { maxSlots: bad },
      });
      expect(res.status).toBe(400);
    }
    const other = await signUp();
    const theirs = await call("PUT", `/api/devices/${deviceId}/slots`, {
      cookie: other.cookie,
      body: { maxSlots: 2 },
    });
    expect(theirs.status).toBe(404);
    socket.close();
  });
});

describe("cloud-pool executors", () => {
  it("never get the operator's capabilities (they run other users' tasks)", async () => {
    const admin = await signUp();
    await env.DB.prepare("UPDATE users SET is_admin = 1 WHERE id = ?").bind(admin.id).run();
    const op = await createToken(admin, { name: "pool", scope: "cloud" });
    await call("POST", "/api/mcp-servers", {
      cookie: admin.cookie,
      body: { name: "secrets", transport: "stdio", command: "node", env: ["OPERATOR_KEY"] },
    });
    const deviceId = newDeviceId();
    const { socket } = await registerDevice(op.token, deviceId, { deviceType: "cloud" });
    await call("PUT", "/api/settings/runtime", {
      cookie: admin.cookie,
      body: { agentEnv: ["OPERATOR_KEY"] },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(socket.frames.filter((f) => f.type === "device:capabilities")).toEqual([]);
    const row = await env.DB.prepare(
      "SELECT type, capabilities_desired FROM devices WHERE owner_id = ? AND device_id = ?",
    )
      .bind(admin.id, deviceId)
      .first<{ type: string; capabilities_desired: string | null }>();
    expect(row).toEqual({ type: "cloud", capabilities_desired: null });
    socket.close();
  });
});
