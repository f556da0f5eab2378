import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, registerDevice, reply } from "./device-client";
import type { HubFrame } from "@wegent/protocol";

type Execute = Extract<HubFrame, { type: "task:execute" }>;

// The hub writes a message's status to D1 behind its answer. When D1 refuses that write all
// three times in a row, the hub keeps it in its SQLite and its alarm retries it until D1 takes
// it: the task list (read from D1) ends right, not stale until something else writes.

const listed = async (cookie: string, taskId: string) => {
  const res = await call("GET", "/api/tasks", { cookie });
  const tasks = (res.body as { tasks: { id: string; status: string }[] }).tasks;
  return tasks.find((t) => t.id === taskId)?.status;
};

describe("a written-behind D1 write that fails", () => {
  it("is kept by the hub and retried on its alarm until the task list is right", async () => {
    const user = await signUp();
    const { token } = await createToken(user);
    const { socket } = await registerDevice(token, newDeviceId());
    // D1 refuses this user's "running" status writes, the way an outage would.
    const trigger = `d1_down_${user.id.replace(/-/g, "")}`;
    await env.DB.exec(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE OF status ON tasks WHEN NEW.status = 'running' AND NEW.owner_id = '${user.id}' BEGIN SELECT RAISE(ABORT, 'D1 is down'); END`,
    );
    try {
      const created = await call("POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "Outage" },
      });
      expect(created.status).toBe(201);
      const taskId = (created.body as { task: { id: string } }).task.id;
      const e = (await socket.next("task:execute")) as Execute;
      socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
      // The write gave up after its three tries; D1 stays down a few seconds longer, through
      // the alarm's first retries.
      await new Promise((r) => setTimeout(r, 4_000));
      expect(await listed(user.cookie, taskId)).not.toBe("running");
      await env.DB.exec(`DROP TRIGGER ${trigger}`);
      const started = Date.now();
      await eventually(
        async () => (await listed(user.cookie, taskId)) === "running",
        30_000,
        "the task list to show the task running",
      );
      console.log(`task list right ${Date.now() - started} ms after D1 came back`);
      // The message then ends as usual; the retried status never undoes the final write.
      await reply(socket, e, "done", "session-1");
      await eventually(
        async () => (await listed(user.cookie, taskId)) === "completed",
        10_000,
        "the task to complete",
      );
    } finally {
      await env.DB.exec(`DROP TRIGGER IF EXISTS ${trigger}`);
      socket.close();
    }
  }, 60_000);
});
