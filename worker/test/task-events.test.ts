import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { HubFrame } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { newDeviceId, registerDevice, textFrame } from "./device-client";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

async function readAll(
  res: Response,
): Promise<{ id: string | null; event: string; data: Record<string, unknown> }[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.includes("data: "))
    .map((block) => {
      const line = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? null;
      return {
        id: line("id"),
        event: line("event") ?? "",
        data: JSON.parse(line("data") ?? "{}") as Record<string, unknown>,
      };
    });
}

describe("task events as Server-Sent Events", () => {
  it("streams a task's events to an API client and resumes after Last-Event-ID", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const deviceId = newDeviceId();
    const { socket } = await registerDevice(token, deviceId);
    const res = await call("POST", "/api/tasks", { token, body: { message: "stream me" } });
    const taskId = (res.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;

    const stream = await SELF.fetch(`http://wegent.test/api/tasks/${taskId}/events`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("Content-Type")).toContain("text/event-stream");
    const events = readAll(stream);
    socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    socket.send(textFrame(e, 1, 0, "Hel"));
    socket.send(textFrame(e, 2, 3, "lo"));
    socket.send({
      type: "task:complete",
      taskId,
      messageId: e.messageId,
      seq: 3,
      text: "Hello",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    const got = await events;
    const deltas = got.filter((x) => x.event === "message:delta");
    expect(deltas.map((d) => (d.data.event as { delta: string }).delta)).toEqual(["Hel", "lo"]);
    expect(got.find((x) => x.event === "message:done")?.data).toMatchObject({
      content: "Hello",
      status: "completed",
    });

    // Resume after the first delta: the rest, nothing twice.
    const resumed = await SELF.fetch(`http://wegent.test/api/tasks/${taskId}/events`, {
      headers: { Authorization: `Bearer ${token}`, "Last-Event-ID": deltas[0]!.id! },
    });
    const rest = await readAll(resumed);
    expect(
      rest
        .filter((x) => x.event === "message:delta")
        .map((d) => (d.data.event as { delta: string }).delta),
    ).toEqual(["lo"]);
    expect(rest.some((x) => x.event === "message:done")).toBe(true);
  });

  it("writes a batch of deltas as one SSE event per delta, with its own id; resumes inside it", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const { socket } = await registerDevice(token, newDeviceId());
    const res = await call("POST", "/api/tasks", { token, body: { message: "batch me" } });
    const taskId = (res.body as { task: { id: string } }).task.id;
    const e = (await socket.next("task:execute")) as Execute;
    const stream = await SELF.fetch(`http://wegent.test/api/tasks/${taskId}/events`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const events = readAll(stream);
    socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
    socket.send({
      type: "task:progress-batch",
      taskId,
      messageId: e.messageId,
      events: ["Hel", "lo", " wor", "ld"].map((delta, i) => ({
        seq: i + 1,
        event: { kind: "text", offset: [0, 3, 5, 9][i], delta },
      })),
    });
    const ack = await socket.next("task:ack");
    expect(ack).toMatchObject({ seq: 4 }); // one ack for the batch
    socket.send({
      type: "task:complete",
      taskId,
      messageId: e.messageId,
      seq: 5,
      text: "Hello world",
      sessionId: null,
      usage: null,
      costUsd: null,
    });
    const got = await events;
    const deltas = got.filter((x) => x.event === "message:delta");
    expect(deltas.map((d) => (d.data.event as { delta: string }).delta)).toEqual([
      "Hel",
      "lo",
      " wor",
      "ld",
    ]);
    const ids = deltas.map((d) => Number(d.id));
    expect(ids).toEqual([ids[0], ids[0]! + 1, ids[0]! + 2, ids[0]! + 3]);

    // Resume after the second delta of the batch: the other two, nothing twice.
    const resumed = await SELF.fetch(`http://wegent.test/api/tasks/${taskId}/events`, {
      headers: { Authorization: `Bearer ${token}`, "Last-Event-ID": String(ids[1]) },
    });
    const rest = (await readAll(resumed)).filter((x) => x.event === "message:delta");
    expect(rest.map((d) => (d.data.event as { delta: string }).delta)).toEqual([" wor", "ld"]);
    expect(rest.map((d) => Number(d.id))).toEqual([ids[2], ids[3]]);
  });

  it("refuses bad resume ids and other users", async () => {
    const user = await signUp();
    const other = await signUp();
    const { token } = await createToken(user);
    await registerDevice(token, newDeviceId());
    const res = await call("POST", "/api/tasks", { token, body: { message: "mine" } });
    const taskId = (res.body as { task: { id: string } }).task.id;
    expectError(
      await call("GET", `/api/tasks/${taskId}/events`, { cookie: other.cookie }),
      404,
      "not_found",
    );
    const bad = await SELF.fetch(`http://wegent.test/api/tasks/${taskId}/events`, {
      headers: { Authorization: `Bearer ${token}`, "Last-Event-ID": "abc" },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_header" } });
  });
});
