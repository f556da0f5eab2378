// A deleted task leaves nothing of it on the device: deleting a task asks the device that ran
// it to forget its files (`workspace.forget`). Before, the task's folder, its snapshot (a
// cleanup had kept it), its own folder and its Claude session folder stayed on the owner's
// machine, and the next cleanup snapshotted a deleted task's workspace again.
// Real executor (local mode), real Claude Code (the fake model scripts the Bash), real platform.
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { CleanupReport } from "@wegent/protocol";
import { api } from "../../e2e/harness";
import { scriptBash, startTask, taskEnded } from "./agent-hunt";
import { expectThat, launchExecutor, type Scenario } from "./context";

/** Every path under `root` whose name holds `id` (the task's folders, snapshot, sessions). */
function named(root: string, id: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.name.includes(id)) found.push(p);
      if (e.isDirectory() && !e.isSymbolicLink()) visit(p);
    }
  };
  visit(root);
  return found;
}

export const deletedTaskForgotten: Scenario = {
  name: "a deleted task leaves no file of it on its device (folder, snapshot, session)",
  async run(ctx) {
    const user = await ctx.newUser();
    const ex = launchExecutor(ctx, user);
    await ex.waitFor("registered");
    const del = (taskId: string) =>
      api(ctx.platform.origin, "DELETE", `/api/tasks/${taskId}`, { cookie: user.session.cookie });

    // 1. A task whose folder is there: the delete removes it and everything named for it.
    const write = `write a file ${randomUUID()}`;
    scriptBash(ctx, write, "printf secret > notes.txt && echo written");
    const kept = await startTask(ctx, user, write, { deviceId: ex.deviceId });
    await taskEnded(ctx, user, kept);
    const before = named(ex.home, kept);
    expectThat(before.length >= 2, `the task left only ${JSON.stringify(before)} on the device`);
    const started = Date.now();
    const res = await del(kept);
    const took = Date.now() - started;
    expectThat(res.status === 200, `the delete answered ${res.status}`);
    const left = named(ex.home, kept);
    expectThat(left.length === 0, `after the delete the device still has ${left.join(", ")}`);

    // 2. A task a cleanup kept as a snapshot on the device: the delete drops the snapshot.
    const second = `write another file ${randomUUID()}`;
    scriptBash(ctx, second, "printf other > other.txt && echo written");
    const snapped = await startTask(ctx, user, second, { deviceId: ex.deviceId });
    await taskEnded(ctx, user, snapped);
    const clean = await api<CleanupReport>(
      ctx.platform.origin,
      "POST",
      `/api/devices/${ex.deviceId}/cleanup`,
      { cookie: user.session.cookie, body: { olderThanHours: 0, dryRun: false } },
    );
    const entry = clean.body.entries?.find((e) => e.taskId === snapped);
    expectThat(entry?.snapshot === true, `the cleanup kept no snapshot: ${JSON.stringify(entry)}`);
    const snapshot = named(join(ex.home, "snapshots"), snapped);
    expectThat(snapshot.length === 2, `no snapshot pack and record: ${JSON.stringify(snapshot)}`);
    expectThat((await del(snapped)).status === 200, "the second delete failed");
    const rest = named(ex.home, snapped);
    expectThat(rest.length === 0, `after the delete the device still has ${rest.join(", ")}`);
    return `${before.length} paths named for the task before the delete, 0 after (delete ${took} ms); a snapshot's pack and record gone with its task`;
  },
};
