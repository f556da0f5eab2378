// `kill -9` of the executor must not leave the agent (or what it started) running, and an
// executor that starts sweeps whatever an earlier run left behind.
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { startExecutor, until } from "../../e2e/harness";
import { sleep } from "../lib/stats";
import { scriptBash, startTask } from "./agent-hunt";
import { expectThat, type GauntletContext, type Scenario } from "./context";

/** Pids whose environment says they run for a task of the executor whose home is `home`. */
function agentProcesses(home: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (env.includes(`HOME=${home}/tasks/`)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** Starts a task whose agent leaves waiters behind: a plain child, a setsid one, a double fork. */
async function sleepers(
  ctx: GauntletContext,
  home: string,
  deviceId: string,
  user: Parameters<typeof startTask>[1],
) {
  const prompt = `orphans ${randomUUID()}`;
  // Claude Code refuses long `sleep`s; `tail -f /dev/null` waits the same way (-s tells them apart).
  scriptBash(
    ctx,
    prompt,
    "tail -s 301 -f /dev/null & setsid tail -s 302 -f /dev/null & (tail -s 303 -f /dev/null &); tail -s 300 -f /dev/null",
  );
  await startTask(ctx, user, prompt, { deviceId });
  return until(
    () => {
      const pids = agentProcesses(home);
      const names = pids.map(cmdline).join("|");
      return ["-s 300", "-s 301", "-s 302", "-s 303"].every((s) => names.includes(`tail ${s}`))
        ? pids
        : undefined;
    },
    60_000,
    "the agent's sleepers to run",
  );
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
    const before = await sleepers(ctx, first.home, first.deviceId, user);
    const killedAt = Date.now();
    process.kill(first.child.pid ?? 0, "SIGKILL");
    await first.exited();
    await until(
      () => agentProcesses(first.home).length === 0,
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
    const orphans = await sleepers(ctx, second.home, second.deviceId, user);
    const watchers = orphans.filter((pid) => cmdline(pid).includes("node -e"));
    expectThat(watchers.length === 1, `expected 1 lifeline watcher, found ${watchers.length}`);
    for (const pid of watchers) process.kill(pid, "SIGKILL");
    process.kill(second.child.pid ?? 0, "SIGKILL");
    await second.exited();
    await sleep(1_000);
    const left = agentProcesses(second.home);
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
    const remaining = agentProcesses(third.home);
    expectThat(
      remaining.length === 0,
      `${remaining.length} leftover(s) survived the sweep: ${remaining.map(cmdline).join(" | ")}`,
    );
    return `${before.length} agent processes (setsid and double-forked included) gone ${(goneAfter / 1000).toFixed(1)} s after kill -9; with the watcher killed too, ${left.length} leftovers swept by the restarted executor`;
  },
};
