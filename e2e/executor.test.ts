// The user's story, end to end: a real platform (wrangler dev), a real wegent-executor process
// running the real Claude Code against a fake model API on loopback, and the live channel.
import { scene } from "./scene";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { TaskWithMessages } from "@wegent/protocol";
import { text, thinking, toolUse } from "./fake-model/server";
import { api, createToken, startExecutor, until } from "./harness";
import { openLive, streamedText } from "./live-client";

type Created = TaskWithMessages;
type Detail = TaskWithMessages;

const s = scene("e2e_user", { vars: { DEVICE_GRACE_SECONDS: "3" } });

const assistantOf = (c: Created) => c.messages.find((m) => m.role === "assistant")!;

async function launch(
  extra: Parameters<typeof startExecutor>[0] extends infer O ? Partial<O> : never = {},
) {
  const ex = startExecutor({
    origin: s.platform.origin,
    token: s.token,
    modelUrl: s.fake.url,
    ...extra,
  });
  s.executors.push(ex);
  await ex.waitFor("registered");
  return ex;
}

async function taskDetail(taskId: string) {
  return (
    await api<Detail>(s.platform.origin, "GET", `/api/tasks/${taskId}`, { cookie: s.user.cookie })
  ).body;
}

async function settled(taskId: string, ms = 60_000) {
  return until(
    async () => {
      const d = await taskDetail(taskId);
      return ["completed", "failed", "cancelled"].includes(d.task.status) ? d : undefined;
    },
    ms,
    `task ${taskId} to end`,
  );
}

describe("a device running Claude Code", () => {
  it("registers, runs a message with thinking and a tool, and streams the reply live", async () => {
    // The platform serves the executor it was built with, for the "Add a device" command.
    const pkg = await fetch(`${s.platform.origin}/wegent-executor.tgz`);
    expect(pkg.status).toBe(200);
    const tgz = join(mkdtempSync(join(tmpdir(), "wegent-pkg-")), "pkg.tgz");
    writeFileSync(tgz, Buffer.from(await pkg.arrayBuffer()));
    expect(execFileSync("tar", ["tzf", tgz], { encoding: "utf8" })).toContain(
      "package/dist/cli.js",
    );

    const ex = await launch();
    const devices = await api<{ devices: { id: string; status: string; isDefault: boolean }[] }>(
      s.platform.origin,
      "GET",
      "/api/devices",
      { cookie: s.user.cookie },
    );
    expect(devices.body.devices).toEqual([
      expect.objectContaining({ id: ex.deviceId, status: "online", isDefault: true }),
    ]);

    s.fake.on("make the greeting file", [
      {
        blocks: [
          thinking("The user wants ", "a file."),
          text("I'll create ", "the file."),
          toolUse("Bash", {
            command: "printf 'Hello from the agent' > hello.txt",
            description: "write the file",
          }),
        ],
      },
      { blocks: [text("Created ", "hello.txt", " for you.")] },
    ]);
    const live = await openLive(s.platform.origin, s.user.cookie);
    const res = await api<Created>(s.platform.origin, "POST", "/api/tasks", {
      cookie: s.user.cookie,
      body: { message: "Please make the greeting file" },
    });
    expect(res.status).toBe(201);
    const messageId = assistantOf(res.body).id;
    const done = await live.waitFor("message:done", (f) => f.messageId === messageId, 60_000);
    expect(done.status).toBe("completed");
    // What streamed is what was stored: the final message equals the deltas' concatenation.
    const streamed = streamedText(live.frames, messageId);
    expect(streamed).toBe(done.content);
    expect(done.content).toContain("Created hello.txt for you.");
    const detail = await taskDetail(res.body.task.id);
    expect(detail.messages.find((m) => m.id === messageId)?.content).toBe(streamed);
    const kinds = new Set(
      live.frames.flatMap((f) =>
        f.type === "message:delta" && f.messageId === messageId ? [f.event.kind] : [],
      ),
    );
    expect(kinds).toEqual(new Set(["thinking", "text", "tool_use", "tool_result"]));
    // Sequences arrive in order, each once.
    const seqs = live.frames.flatMap((f) =>
      f.type === "message:delta" && f.messageId === messageId ? [f.seq] : [],
    );
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    // The file is on the device, in the task's own workspace.
    const file = join(ex.home, "workspaces", res.body.task.id, "hello.txt");
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("Hello from the agent");
    live.close();

    // A follow-up resumes the same Claude session: the model sees the earlier turns.
    s.fake.on("and now a follow-up", [{ blocks: [text("Still here.")] }]);
    const follow = await api<Created>(
      s.platform.origin,
      "POST",
      `/api/tasks/${res.body.task.id}/messages`,
      { cookie: s.user.cookie, body: { message: "and now a follow-up" } },
    );
    expect(follow.status).toBe(201);
    const after = await settled(res.body.task.id);
    expect(after.messages.at(-1)).toMatchObject({ content: "Still here.", status: "completed" });
    const request = s.fake.requests.filter((r) => r.prompt === "and now a follow-up").at(-1);
    expect(JSON.stringify(request?.body)).toContain("Please make the greeting file");
  });

  it("cancels mid-stream within a second, and kills what the agent started", async () => {
    s.fake.on("count slowly", [
      { blocks: [text(...Array.from({ length: 400 }, (_, i) => `${i} `))], delayMs: 50 },
    ]);
    const live = await openLive(s.platform.origin, s.user.cookie);
    const res = await api<Created>(s.platform.origin, "POST", "/api/tasks", {
      cookie: s.user.cookie,
      body: { message: "count slowly" },
    });
    const messageId = assistantOf(res.body).id;
    await live.waitFor("message:delta", (f) => f.messageId === messageId && f.seq > 3, 60_000);
    const started = Date.now();
    await api(s.platform.origin, "POST", `/api/tasks/${res.body.task.id}/cancel`, {
      cookie: s.user.cookie,
    });
    const done = await live.waitFor("message:done", (f) => f.messageId === messageId, 10_000);
    const elapsed = Date.now() - started;
    expect(done.status).toBe("cancelled");
    expect(elapsed).toBeLessThan(1000);
    live.close();

    s.fake.on("wait for a long time", [
      { blocks: [toolUse("Bash", { command: "echo started && sleep 307", description: "wait" })] },
    ]);
    const long = await api<Created>(s.platform.origin, "POST", "/api/tasks", {
      cookie: s.user.cookie,
      body: { message: "wait for a long time" },
    });
    await until(
      () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes("sleep 307"),
      60_000,
      "sleep 307 to start",
    );
    await api(s.platform.origin, "POST", `/api/tasks/${long.body.task.id}/cancel`, {
      cookie: s.user.cookie,
    });
    expect((await settled(long.body.task.id, 10_000)).task.status).toBe("cancelled");
    await until(
      () => !execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes("sleep 307"),
      3000,
      "sleep 307 to be gone",
    );
  });

  it("runs 5 tasks at once on one device", async () => {
    const rules = Array.from({ length: 5 }, (_, i) => `parallel job ${i}`);
    for (const r of rules) s.fake.on(r, [{ blocks: [text("working ", "on ", r)], delayMs: 100 }]);
    const created = await Promise.all(
      rules.map((r) =>
        api<Created>(s.platform.origin, "POST", "/api/tasks", {
          cookie: s.user.cookie,
          body: { message: r },
        }),
      ),
    );
    expect(created.map((c) => assistantOf(c.body).status)).toEqual(Array(5).fill("running"));
    const ends = await Promise.all(created.map((c) => settled(c.body.task.id)));
    expect(ends.map((d) => d.task.status)).toEqual(Array(5).fill("completed"));
  });
});

describe("when things go wrong", () => {
  it("fails the running task with device_disconnected when the executor is killed", async () => {
    const ex = await launch();
    // Make this the default device so messages go to it.
    await api(s.platform.origin, "PUT", `/api/devices/${ex.deviceId}/default`, {
      cookie: s.user.cookie,
    });
    s.fake.on("a very slow job", [
      { blocks: [text(...Array.from({ length: 300 }, () => "."))], delayMs: 100 },
    ]);
    const live = await openLive(s.platform.origin, s.user.cookie);
    const res = await api<Created>(s.platform.origin, "POST", "/api/tasks", {
      cookie: s.user.cookie,
      body: { message: "a very slow job" },
    });
    const messageId = assistantOf(res.body).id;
    await live.waitFor("message:delta", (f) => f.messageId === messageId, 60_000);
    await ex.stop("SIGKILL");
    await live.waitFor(
      "device:status",
      (f) => f.device.id === ex.deviceId && f.device.status === "reconnecting",
      10_000,
    );
    const done = await live.waitFor("message:done", (f) => f.messageId === messageId, 15_000);
    expect(done.status).toBe("failed");
    const detail = await taskDetail(res.body.task.id);
    expect(detail.messages.find((m) => m.id === messageId)).toMatchObject({
      errorCode: "device_disconnected",
    });
    await live.waitFor(
      "device:status",
      (f) => f.device.id === ex.deviceId && f.device.status === "offline",
      10_000,
    );
    live.close();
  });

  it("stops with a clear message for a bad token, an expired token and a removed device", async () => {
    const bad = startExecutor({ origin: s.platform.origin, token: "not-a-token" });
    s.executors.push(bad);
    expect(await bad.exited()).toBe(1);
    expect(bad.output()).toMatch(/not valid/i);

    const revokedToken = await createToken(s.platform.origin, s.user, { name: "soon revoked" });
    await api(s.platform.origin, "DELETE", `/api/tokens/${revokedToken.id}`, {
      cookie: s.user.cookie,
    });
    const revoked = startExecutor({ origin: s.platform.origin, token: revokedToken.token });
    s.executors.push(revoked);
    expect(await revoked.exited()).toBe(1);
    expect(revoked.output()).toMatch(/revoked/i);
    expect(revoked.output()).toContain("Settings → API Token");

    const ex = await launch();
    const removed = await api(
      s.platform.origin,
      "DELETE",
      `/api/devices/${ex.deviceId}?force=true`,
      {
        cookie: s.user.cookie,
      },
    );
    expect(removed.status).toBe(200);
    expect(await ex.exited()).toBe(1);
    expect(ex.output()).toMatch(/removed/i);
    // The token is never printed whole.
    for (const e of [revoked, ex]) expect(e.output()).not.toContain(s.token);
  });
});
