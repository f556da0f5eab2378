import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type HubFrame, utf8Bytes } from "@wegent/protocol";
import { userHub } from "../../durable-objects/contract";
import { capReply, replyArchiveKey } from "../../durable-objects/device-hub/reply-cap";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, openLive, registerDevice, textFrame } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

async function runningMessage() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId, { maxSlots: 1 });
  const res = await call("POST", "/api/tasks", { cookie: user.cookie, body: { message: "big" } });
  expect(res.status).toBe(201);
  const e = (await socket.next("task:execute")) as Execute;
  socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
  return { user, deviceId, socket, e };
}

async function messageOf(cookie: string, taskId: string, messageId: string) {
  const detail = await call("GET", `/api/tasks/${taskId}`, { cookie });
  const body = detail.body as { messages: { id: string; status: string; content: string }[] };
  return body.messages.find((m) => m.id === messageId);
}

describe("replies too big for a D1 row", () => {
  it("caps a 3 MB multi-byte reply with a marker, keeps the full text in R2, frees the slot", async () => {
    const { user, deviceId, socket, e } = await runningMessage();
    const chunk = "€".repeat(300_000); // 900 kB per frame, under the 1 MiB frame limit
    for (let seq = 1; seq <= 4; seq++) {
      socket.send(textFrame(e, seq, (seq - 1) * chunk.length, chunk));
    }
    // The executor failed with no text: the hub ends it with the 3.6 MB it streamed.
    socket.send({
      type: "task:failed",
      taskId: e.taskId,
      messageId: e.messageId,
      seq: 5,
      code: "agent_error",
      message: "stopped",
      text: "",
      sessionId: null,
    });
    const m = await eventually(
      async () => {
        const found = await messageOf(user.cookie, e.taskId, e.messageId);
        return found?.status === "failed" ? found : undefined;
      },
      10_000,
      "the message to end",
    );
    expect(utf8Bytes(m.content)).toBeLessThanOrEqual(1024 * 1024);
    expect(m.content).toContain("[Reply truncated: 3600000 bytes in all");
    const archived = await env.ARCHIVES.get(replyArchiveKey(user.id, e.messageId));
    expect(archived).not.toBeNull();
    expect((await archived!.text()).length).toBe(1_200_000);
    const devices = await call("GET", "/api/devices", { cookie: user.cookie });
    const device = (devices.body as { devices: { id: string; slotsUsed: number }[] }).devices.find(
      (d) => d.id === deviceId,
    );
    expect(device?.slotsUsed).toBe(0);
  });

  it("ends the message internal_error and frees the slot when the final write fails", async () => {
    const { user, deviceId, socket, e } = await runningMessage();
    // Make the first final write fail the way production D1 would (the row is refused).
    await env.DB.exec(
      `CREATE TRIGGER fail_once BEFORE UPDATE OF content ON messages WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'row too big'); END`,
    );
    try {
      socket.send(textFrame(e, 1, 0, "hello"));
      socket.send({
        type: "task:complete",
        taskId: e.taskId,
        messageId: e.messageId,
        seq: 2,
        text: "hello",
        sessionId: "s1",
        usage: null,
        costUsd: null,
      });
      const m = await eventually(
        async () => {
          const found = await messageOf(user.cookie, e.taskId, e.messageId);
          return found && found.status !== "running" ? found : undefined;
        },
        10_000,
        "the message to end",
      );
      expect(m.status).toBe("failed");
      const row = await env.DB.prepare("SELECT error_code FROM messages WHERE id = ?")
        .bind(e.messageId)
        .first<{ error_code: string }>();
      expect(row?.error_code).toBe("internal_error");
      const devices = await call("GET", "/api/devices", { cookie: user.cookie });
      const listed = (devices.body as { devices: { id: string; slotsUsed: number }[] }).devices;
      expect(listed.find((d) => d.id === deviceId)?.slotsUsed).toBe(0);
    } finally {
      await env.DB.exec("DROP TRIGGER IF EXISTS fail_once");
    }
  });

  it("capReply never splits a character and keeps short replies as they are", () => {
    expect(capReply("short")).toEqual({ text: "short", truncated: false, totalBytes: 5 });
    const emoji = capReply("🔐".repeat(400_000), 1000);
    expect(emoji.truncated).toBe(true);
    expect(utf8Bytes(emoji.text)).toBeLessThanOrEqual(1000);
    expect(emoji.text).not.toMatch(/\p{Cs}/u);
  });
});

describe("live sockets expire with their credential", () => {
  it("the UserHub's alarm closes a live socket whose token expired", async () => {
    const user = await signUp();
    const { id, token } = await createToken(user, { name: "script", scope: "user" });
    await env.DB.prepare("UPDATE api_tokens SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() + 1_500).toISOString(), id)
      .run();
    const res = await SELF.fetch("http://wegent.test/api/live", {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    let closed: number | null = null;
    ws.addEventListener("close", (event) => (closed = event.code));
    ws.accept();
    // The session socket of the same user stays open.
    const session = await openLive(user.cookie);
    await session.next("live:hello");
    await new Promise((r) => setTimeout(r, 1_600));
    await runDurableObjectAlarm(userHub(env, user.id));
    await eventually(() => closed, 2_000, "expired token's live socket closed");
    expect(closed).toBe(4003);
    expect(session.closed).toBeNull();
  });
});
