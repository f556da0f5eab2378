// A cloud agent races the executor (root, outside the sandbox): while the pool's owner opens and
// reverts `d/victim` in the Changes tab, the agent keeps swapping its folder `d` for a symlink
// to a folder outside the workspace. Nothing outside may be read or deleted, and the race must
// be shown live (some calls met the symlink, some the folder). Real executor in cloud mode,
// real Claude Code under bubblewrap (the fake model scripts the Bash), the real platform.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandResult } from "@wegent/protocol";
import { api, until } from "../../e2e/harness";
import { cloudExecutor, scriptBash, startTask, taskEnded } from "./agent-hunt";
import { expectThat, type Scenario } from "./context";

const SECRET = `outside-secret-${randomUUID()}`;
const RACE_SECONDS = 12;

export const swappedFolderCloud: Scenario = {
  name: "a cloud agent swapping a folder for a symlink never makes the Changes tab reach outside",
  async run(ctx) {
    const { ex, admin } = await cloudExecutor(ctx, 600);
    const outside = join(tmpdir(), `wegent-outside-${randomUUID()}`);
    mkdirSync(outside);
    writeFileSync(join(outside, "victim"), SECRET);
    ctx.cleanups.push(async () => rmSync(outside, { recursive: true, force: true }));
    const prompt = `swap a folder under the executor ${randomUUID()}`;
    // The agent: `d` a real folder holding `victim`, then for RACE_SECONDS `d` is swapped with a
    // symlink to the outside folder (as the executor sees paths) and back, as fast as sh goes.
    scriptBash(
      ctx,
      prompt,
      [
        "cd /workspace",
        "mkdir d && printf mine > d/victim && touch swapping",
        `end=$(($(date +%s) + ${RACE_SECONDS}))`,
        `while [ $(date +%s) -lt $end ]; do [ -e d/victim ] || printf mine > d/victim; mv d d.real && ln -s ${outside} d && rm d && mv d.real d; done`,
        "touch swapped",
        "echo raced",
      ].join(" && "),
    );
    const taskId = await startTask(ctx, admin, prompt, { deviceId: ex.deviceId });
    const workspace = join(ex.home, "workspaces", taskId);
    await until(async () => existsSync(join(workspace, "swapping")), 90_000, "the agent's race");

    const tally = new Map<string, number>();
    const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
    const leaks: string[] = [];
    const call = (key: string) =>
      api<CommandResult & { error?: { code: string } }>(
        ctx.platform.origin,
        "POST",
        `/api/devices/${ex.deviceId}/commands`,
        { cookie: admin.session.cookie, body: { key, args: { path: "d/victim" }, taskId } },
      );
    while (!existsSync(join(workspace, "swapped"))) {
      for (const key of ["workspace.file", "workspace.revert"]) {
        const res = await call(key);
        if (res.status === 200) {
          const out = res.body.stdout ?? "";
          if (out.includes(SECRET)) leaks.push(`${key} answered the outside file`);
          count(
            `${key} ${key === "workspace.revert" ? (/"action":"(\w+)"/.exec(out)?.[1] ?? "failed") : "read"}`,
          );
        } else {
          count(`${key} ${res.body.error?.code ?? res.status}`);
        }
      }
    }
    const end = await taskEnded(ctx, admin, taskId);
    expectThat(end.task.status === "completed", `the racing task ended ${end.task.status}`);
    const summary = [...tally].map(([k, n]) => `${k} ×${n}`).join(", ");
    expectThat(leaks.length === 0, `${leaks.join("; ")} (${summary})`);
    expectThat(
      existsSync(join(outside, "victim")) &&
        readFileSync(join(outside, "victim"), "utf8") === SECRET,
      `the outside file was deleted or changed (${summary})`,
    );
    // Live race: some calls met the symlink (refused), some the real folder (read or removed).
    const refused =
      (tally.get("workspace.file path_outside") ?? 0) +
      (tally.get("workspace.revert path_outside") ?? 0);
    const reached =
      (tally.get("workspace.file read") ?? 0) + (tally.get("workspace.revert removed") ?? 0);
    expectThat(refused > 0 && reached > 0, `the race was not live: ${summary}`);
    return `${RACE_SECONDS} s of the agent swapping d for a symlink out: ${summary}; the outside file was never read, changed or deleted`;
  },
};
