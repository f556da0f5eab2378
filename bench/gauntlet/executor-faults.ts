// Faults around a real wegent-executor running Claude Code against the fake model: killed,
// socket cut, frozen, platform restarted, and a second executor with the same device id.
import { randomUUID } from "node:crypto";
import { openLive } from "../../e2e/live-client";
import { api, until } from "../../e2e/harness";
import { startProxy } from "../lib/proxy";
import { sleep } from "../lib/stats";
import {
  checkStream,
  createTask,
  expectThat,
  type GauntletContext,
  launchExecutor,
  type Scenario,
  slowReply,
  taskDetail,
} from "./context";

const firstDelta = 60_000;

export const executorKilled: Scenario = {
  name: "executor killed mid-task",
  async run(ctx) {
    const user = await ctx.newUser();
    const ex = launchExecutor(ctx, user);
    await ex.waitFor("registered");
    const prompt = `killed ${randomUUID()}`;
    slowReply(ctx, prompt, 200, 100);
    const live = await openLive(ctx.platform.origin, user.session.cookie);
    ctx.cleanups.push(() => live.close());
    const { messageId } = await createTask(ctx.platform.origin, user, prompt, ex.deviceId);
    await live.waitFor("message:delta", (f) => f.messageId === messageId, firstDelta);
    const killedAt = Date.now();
    await ex.stop("SIGKILL");
    const done = await live.waitFor("message:done", (f) => f.messageId === messageId, 40_000);
    const failedAfter = Date.now() - killedAt;
    expectThat(done.status === "failed", `message ended ${done.status}, expected failed`);
    const status = await live.waitFor(
      "task:status",
      (f) => f.messageId === messageId && f.status === "failed",
      5_000,
    );
    expectThat(
      status.errorCode === "device_disconnected",
      `error code ${status.errorCode}, expected device_disconnected`,
    );
    return `failed device_disconnected ${(failedAfter / 1000).toFixed(1)} s after SIGKILL`;
  },
};

/** Runs a slow message on an executor, disrupts it once streaming, and checks the reply. */
async function disruptedRun(
  ctx: GauntletContext,
  label: string,
  disrupt: (parts: {
    pid: number;
    cut: () => number;
    restart: () => Promise<void>;
  }) => Promise<string>,
  throughProxy: boolean,
) {
  const user = await ctx.newUser();
  const proxy = throughProxy ? await startProxy(ctx.platform.port) : null;
  if (proxy) ctx.cleanups.push(() => proxy.close());
  const ex = launchExecutor(ctx, user, proxy ? { origin: proxy.origin } : {});
  await ex.waitFor("registered");
  const prompt = `${label} ${randomUUID()}`;
  const expected = slowReply(ctx, prompt, 80, 100);
  const live = await openLive(ctx.platform.origin, user.session.cookie);
  const lives = [live];
  ctx.cleanups.push(() => lives.forEach((l) => l.close()));
  const { taskId, messageId } = await createTask(ctx.platform.origin, user, prompt, ex.deviceId);
  await live
    .waitFor("message:delta", (f) => f.messageId === messageId && f.seq >= 5, firstDelta)
    .catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- executor output (tail):\n${ex.output().slice(-3000)}`);
    });
  const figure = await disrupt({
    pid: ex.child.pid ?? 0,
    cut: () => proxy?.cut() ?? 0,
    restart: async () => {
      await ctx.platform.restart();
      // The tab reconnects from its last liveSeq, as the web app does.
      lives.push(await openLive(ctx.platform.origin, user.session.cookie, live.lastSeq()));
    },
  });
  const last = lives.at(-1)!;
  const done = await last
    .waitFor("message:done", (f) => f.messageId === messageId, 60_000)
    .catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- executor output (tail):\n${ex.output().slice(-3000)}`);
    });
  expectThat(done.status === "completed", `message ended ${done.status}, expected completed`);
  expectThat(done.content === expected, "final content differs from what the model sent");
  const stored = await taskDetail(ctx.platform.origin, user, taskId);
  const message = stored.messages.find((m) => m.id === messageId);
  expectThat(message?.content === expected, "stored content differs from what the model sent");
  const seen = lives.flatMap((l) => l.frames);
  const stream = checkStream(seen, messageId, expected);
  const reconnects = (ex.output().match(/registered again/g) ?? []).length;
  expectThat(reconnects >= 1 || label === "frozen", "the executor never registered again");
  return `${figure}; ${stream}; ${reconnects} re-registration(s)`;
}

export const socketCut: Scenario = {
  name: "socket cut within the grace (proxy)",
  run: (ctx) =>
    disruptedRun(
      ctx,
      "cut",
      async ({ cut }) => {
        const n = cut();
        expectThat(n >= 1, "the proxy had no connection to cut");
        return `cut ${n} connection(s)`;
      },
      true,
    ),
};

export const executorFrozen: Scenario = {
  name: "executor frozen (SIGSTOP 5 s) then resumed",
  run: (ctx) =>
    disruptedRun(
      ctx,
      "frozen",
      async ({ pid }) => {
        process.kill(pid, "SIGSTOP");
        await sleep(5_000);
        process.kill(pid, "SIGCONT");
        return "frozen 5.0 s";
      },
      false,
    ),
};

export const platformRestarted: Scenario = {
  name: "wrangler dev restarted mid-task",
  run: (ctx) =>
    disruptedRun(
      ctx,
      "restart",
      async ({ restart }) => {
        const started = Date.now();
        await restart();
        return `restart took ${((Date.now() - started) / 1000).toFixed(1)} s`;
      },
      false,
    ),
};

export const sameDeviceId: Scenario = {
  name: "two executors with one device id",
  async run(ctx) {
    const user = await ctx.newUser();
    const deviceId = `gauntlet${randomUUID().replace(/-/g, "").slice(0, 16)}`;
    const first = launchExecutor(ctx, user, { deviceId });
    await first.waitFor("registered");
    const started = Date.now();
    const second = launchExecutor(ctx, user, { deviceId });
    await second.waitFor("registered");
    const code = await Promise.race([first.exited(), sleep(15_000).then(() => "running")]);
    const replacedAfter = Date.now() - started;
    expectThat(code === 1, `the first executor did not stop after being replaced (exit ${code})`);
    expectThat(/replaced|another/i.test(first.output()), "the first executor did not say why");
    // The second must not also have been told to stop.
    await sleep(1_000);
    expectThat(second.child.exitCode === null, "the second executor stopped too");
    const devices = await api<{ devices: { id: string; status: string }[] }>(
      ctx.platform.origin,
      "GET",
      "/api/devices",
      { cookie: user.session.cookie },
    );
    expectThat(devices.body.devices.length === 1, `${devices.body.devices.length} devices listed`);
    const prompt = `same id ${randomUUID()}`;
    const expected = slowReply(ctx, prompt, 5, 10);
    const { taskId } = await createTask(ctx.platform.origin, user, prompt, deviceId);
    const end = await until(
      async () => {
        const d = await taskDetail(ctx.platform.origin, user, taskId);
        return ["completed", "failed", "cancelled"].includes(d.task.status) ? d : undefined;
      },
      60_000,
      "the task on the shared id to end",
    );
    const reply = end.messages.find((m) => m.role === "assistant");
    expectThat(reply?.status === "completed", `task ended ${reply?.status}`);
    expectThat(reply.content === expected, "reply differs from what the model sent");
    return `first stopped (exit 1) ${(replacedAfter / 1000).toFixed(1)} s after the second started; one device; task completed once`;
  },
};
