// `kill -9` of the executor must not leave the agent (or what it started) running, and an
// executor that starts sweeps whatever an earlier run left behind.
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { startExecutor, until } from "../../e2e/harness";
import { sleep } from "../lib/stats";
import { scriptBash, startTask } from "./agent-hunt";
import { expectThat, type GauntletContext, type Scenario } from "./context";

/** Pids of the `tail -s <n>` waiters this scenario's agent started (n unique to the scenario). */
function waiters(base: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const args = cmdline(Number(entry));
    if ([0, 1, 2, 3].some((i) => args.startsWith(`tail -s ${base + i} `)))
      found.push(Number(entry));
  }
  return found;
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** Starts a task whose agent leaves waiters behind: a plain child, a setsid one, a double fork. */
async function startWaiters(
  ctx: GauntletContext,
  deviceId: string,
  user: Parameters<typeof startTask>[1],
): Promise<{ base: number; pids: number[] }> {
  const prompt = `orphans ${randomUUID()}`;
  // Claude Code refuses long `sleep`s; `tail -f /dev/null` waits the same way, and its -s
  // (poll interval) value tags the waiters as this scenario's.
  const base = 40_000 + Math.floor(Math.random() * 50_000) * 4;
  const tail = (i: number) => `tail -s ${base + i} -f /dev/null`;
  scriptBash(ctx, prompt, `${tail(1)} & setsid ${tail(2)} & (${tail(3)} &); ${tail(0)}`);
  await startTask(ctx, user, prompt, { deviceId });
  const pids = await until(
    () => {
      const found = waiters(base);
      return found.length === 4 ? found : undefined;
    },
    60_000,
    "the agent's waiters to run",
  );
  return { base, pids };
}

export const killedExecutorOrphans: Scenario = {
  name: "kill -9 of the executor leaves no agent; a restart sweeps",
  async run(ctx) {
    const user = await ctx.newUser();
    const first = startExecutor({
      origin: ctx.platform.origin,
      token: user.token,
      modelUrl: ctx.fake.url,
    });
    ctx.executors.push(first);
    await first.waitFor("registered");
    const before = await startWaiters(ctx, first.deviceId, user);
    const killedAt = Date.now();
    process.kill(first.child.pid ?? 0, "SIGKILL");
    await first.exited();
    await until(
      () => waiters(before.base).length === 0,
      10_000,
      "the agents to die with the executor",
    );
    const goneAfter = Date.now() - killedAt;

    // Now the watcher dies too (as if killed along with the executor): only the sweep is left.
    const second = startExecutor({
      origin: ctx.platform.origin,
      token: user.token,
      modelUrl: ctx.fake.url,
      home: first.home,
      deviceId: first.deviceId,
    });
    ctx.executors.push(second);
    await second.waitFor("registered");
    const orphans = await startWaiters(ctx, second.deviceId, user);
    // The foreground waiter's ancestors: its shell, Claude Code, the lifeline watcher.
    let watcher =
      orphans.pids.find((pid) => cmdline(pid).startsWith(`tail -s ${orphans.base} `)) ?? 0;
    while (watcher > 1 && !cmdline(watcher).includes(" -e ")) watcher = parentOf(watcher);
    expectThat(
      watcher > 1 && watcher !== second.child.pid,
      "found no lifeline watcher above the agent",
    );
    process.kill(watcher, "SIGKILL");
    process.kill(second.child.pid ?? 0, "SIGKILL");
    await second.exited();
    await sleep(1_000);
    const left = waiters(orphans.base);
    expectThat(left.length > 0, "nothing was left behind to sweep (the test proves nothing)");
    const third = startExecutor({
      origin: ctx.platform.origin,
      token: user.token,
      modelUrl: ctx.fake.url,
      home: first.home,
      deviceId: first.deviceId,
    });
    ctx.executors.push(third);
    await third.waitFor("registered");
    expectThat(
      /killed \d+ agent process\(es\) left by an earlier run/.test(third.output()),
      "the restarted executor did not report a sweep",
    );
    const remaining = waiters(orphans.base);
    expectThat(
      remaining.length === 0,
      `${remaining.length} leftover(s) survived the sweep: ${remaining.map(cmdline).join(" | ")}`,
    );
    return `the agent's 4 waiters (setsid and double-forked included) gone ${(goneAfter / 1000).toFixed(1)} s after kill -9; with the watcher killed too, ${left.length} leftovers swept by the restarted executor`;
  },
};
