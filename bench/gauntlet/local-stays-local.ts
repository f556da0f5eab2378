// Local code stays local (issue #26, finding 6): a cleanup on a local device whose owner never
// turned on cloud backup removes an idle task's folder without putting a byte of it in R2; the
// task shows `snapshot` and a follow-up gets the file back from the device itself. Before, the
// same cleanup (and the hourly one) uploaded the workspace and its Claude session to R2.
// Real executor (local mode), real Claude Code (the fake model scripts the Bash), real platform.
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { CleanupReport, WorkspaceState } from "@wegent/protocol";
import { api } from "../../e2e/harness";
import { scriptBash, startTask, taskEnded, toolResult } from "./agent-hunt";
import { expectThat, launchExecutor, type Scenario } from "./context";

/** The objects the local R2 bucket holds (blob files under the platform's state). */
function r2Blobs(stateDir: string): Set<string> {
  const found = new Set<string>();
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (p.includes("/r2/") && p.includes("blobs")) found.add(p);
    }
  };
  visit(stateDir);
  return found;
}

export const localStaysLocal: Scenario = {
  name: "a local device's cleanup keeps the task on the machine and uploads nothing",
  async run(ctx) {
    const user = await ctx.newUser();
    const ex = launchExecutor(ctx, user);
    await ex.waitFor("registered");
    const secret = `local-only-${randomUUID()}`;
    const write = `write a local file ${randomUUID()}`;
    scriptBash(ctx, write, `printf '${secret}' > private.txt && echo written`);
    const taskId = await startTask(ctx, user, write, { deviceId: ex.deviceId });
    await taskEnded(ctx, user, taskId);
    const folder = join(ex.home, "workspaces", taskId);
    expectThat(existsSync(join(folder, "private.txt")), "the agent wrote no file");
    const before = r2Blobs(ctx.platform.stateDir);

    const res = await api<CleanupReport>(
      ctx.platform.origin,
      "POST",
      `/api/devices/${ex.deviceId}/cleanup`,
      { cookie: user.session.cookie, body: { olderThanHours: 0, dryRun: false } },
    );
    expectThat(res.status === 200, `cleanup answered ${res.status} ${JSON.stringify(res.body)}`);
    const entry = res.body.entries.find((e) => e.taskId === taskId);
    expectThat(entry?.outcome === "removed", `the task was not removed: ${JSON.stringify(entry)}`);
    expectThat(!existsSync(folder), "the task's folder is still there");
    const added = [...r2Blobs(ctx.platform.stateDir)].filter((b) => !before.has(b));
    expectThat(added.length === 0, `the cleanup put ${added.length} object(s) in R2`);
    const ws = await api<WorkspaceState>(
      ctx.platform.origin,
      "GET",
      `/api/tasks/${taskId}/workspace`,
      { cookie: user.session.cookie },
    );
    expectThat(
      ws.body.state === "snapshot" && ws.body.archive === null,
      `the task's workspace is ${JSON.stringify(ws.body)}, not a snapshot without archive`,
    );

    const read = `read the local file ${randomUUID()}`;
    scriptBash(ctx, read, "cat private.txt");
    const again = await api(ctx.platform.origin, "POST", `/api/tasks/${taskId}/messages`, {
      cookie: user.session.cookie,
      body: { message: read },
    });
    expectThat(again.status === 201, `the follow-up answered ${again.status}`);
    await taskEnded(ctx, user, taskId);
    expectThat(toolResult(ctx, read).includes(secret), "the follow-up did not find the file");
    const after = [...r2Blobs(ctx.platform.stateDir)].filter((b) => !before.has(b));
    expectThat(after.length === 0, `the restore put ${after.length} object(s) in R2`);
    return "cleanup removed the idle folder with 0 objects added to R2 (state snapshot, archive null); the follow-up read the file back from the device";
  },
};
