// A hung model must not hold a slot forever (issue 22): the owner sets stallSeconds to its
// minimum (30 s), the model's stream goes silent mid-reply; the run ends `agent_stalled` with how
// long it was silent, its slot is free again, and the next task on the device runs.
import { randomUUID } from "node:crypto";
import { text } from "../../e2e/fake-model/server";
import { api, until } from "../../e2e/harness";
import { createTask, expectThat, launchExecutor, type Scenario, taskDetail } from "./context";

const STALL_SECONDS = 30;

export const stalledRun: Scenario = {
  name: "a model stream goes silent: agent_stalled after stallSeconds, slot freed",
  async run(ctx) {
    const user = await ctx.newUser();
    const set = await api(ctx.platform.origin, "PUT", "/api/settings/runtime", {
      cookie: user.session.cookie,
      body: { stallSeconds: STALL_SECONDS },
    });
    expectThat(set.status === 200, `PUT /api/settings/runtime answered ${set.status}`);
    const ex = launchExecutor(ctx, user);
    await ex.waitFor("registered");
    const prompt = `silent ${randomUUID()}`;
    ctx.fake.on(prompt, [{ blocks: [text("Starting on it", " now…")], silentAfter: 5 }]);
    const started = Date.now();
    const { taskId } = await createTask(ctx.platform.origin, user, prompt, ex.deviceId);
    const ended = await until(
      async () => {
        const d = await taskDetail(ctx.platform.origin, user, taskId);
        const reply = d.messages.find((m) => m.role === "assistant");
        return reply && ["completed", "failed", "cancelled"].includes(reply.status) ? reply : null;
      },
      (STALL_SECONDS + 60) * 1000,
      "the silent run to end",
    );
    const seconds = (Date.now() - started) / 1000;
    expectThat(
      ended.status === "failed" && ended.errorCode === "agent_stalled",
      `the silent run ended ${ended.status} ${ended.errorCode ?? ""}, expected failed agent_stalled`,
    );
    expectThat(
      /no output for \d+ s/.test(ended.errorMessage ?? ""),
      `the failure does not say how long it was silent: ${ended.errorMessage}`,
    );
    expectThat(seconds >= STALL_SECONDS, `ended after ${seconds.toFixed(1)} s, before the limit`);
    // The slot is free again: the next task on the device runs to the end.
    const next = `after the stall ${randomUUID()}`;
    ctx.fake.on(next, [{ blocks: [text("Back to work.")] }]);
    const second = await createTask(ctx.platform.origin, user, next, ex.deviceId);
    const done = await until(
      async () => {
        const d = await taskDetail(ctx.platform.origin, user, second.taskId);
        return d.task.status === "completed" ? d : null;
      },
      60_000,
      "the next task to complete",
    );
    expectThat(done.messages.at(-1)?.content === "Back to work.", "the next task's reply is wrong");
    return `stalled run ended after ${seconds.toFixed(1)} s (limit ${STALL_SECONDS} s); next task completed`;
  },
};
