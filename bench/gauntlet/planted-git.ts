// An agent plants a git config in its workspace that runs a command whenever git reads the
// index there (`core.fsmonitor`), and hooks: the executor's own git in that folder (cleanup's
// disk use and archive listing) must never run them — it would run as the executor, outside a
// cloud sandbox. Real executor, real Claude Code (the fake model scripts the Bash), a real
// cleanup dry run through the platform; then plain git there, to show the plant was live.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CleanupReport } from "@wegent/protocol";
import { api, until } from "../../e2e/harness";
import { scriptBash } from "./agent-hunt";
import { createTask, expectThat, launchExecutor, type Scenario, taskDetail } from "./context";

export const plantedGitConfig: Scenario = {
  name: "a git config an agent plants in its workspace never runs in the executor",
  async run(ctx) {
    const user = await ctx.newUser();
    const ex = launchExecutor(ctx, user);
    await ex.waitFor("registered");
    const marker = join(tmpdir(), `wegent-planted-${randomUUID()}`);
    const prompt = `plant a git config ${randomUUID()}`;
    scriptBash(
      ctx,
      prompt,
      [
        "git init -q .",
        "printf x > a.txt",
        "git add a.txt",
        "mkdir -p hooks",
        `printf '#!/bin/sh\\ntouch ${marker}\\n' > hooks/post-checkout`,
        "chmod +x hooks/post-checkout",
        "git config core.hooksPath hooks",
        `git config core.fsmonitor 'touch ${marker}'`,
        "echo planted",
      ].join(" && "),
    );
    const { taskId } = await createTask(ctx.platform.origin, user, prompt, ex.deviceId);
    await until(
      async () => {
        const d = await taskDetail(ctx.platform.origin, user, taskId);
        return d.task.status === "completed" ? d : undefined;
      },
      90_000,
      "the planting task to complete",
    );
    const workspace = join(ex.home, "workspaces", taskId);
    expectThat(existsSync(join(workspace, ".git", "config")), `no planted repo in ${workspace}`);
    expectThat(!existsSync(marker), "the planted command ran before the executor touched it");

    // Cleanup's dry run measures the workspace: git lists what it ignores there.
    const res = await api<CleanupReport>(
      ctx.platform.origin,
      "POST",
      `/api/devices/${ex.deviceId}/cleanup`,
      { cookie: user.session.cookie, body: { olderThanHours: 0, dryRun: true } },
    );
    expectThat(res.status === 200, `cleanup dry run answered ${res.status}`);
    const listed = res.body.entries.some((e) => JSON.stringify(e).includes(taskId));
    expectThat(listed, `the dry run did not list the task: ${JSON.stringify(res.body)}`);
    expectThat(!existsSync(marker), "the executor ran the agent's core.fsmonitor");

    // The same listing with plain git runs it: the plant was live, the check could fail.
    execFileSync("git", ["ls-files", "--others", "--ignored", "--exclude-standard"], {
      cwd: workspace,
    });
    expectThat(existsSync(marker), "the plant was not live (plain git did not run it)");
    return "cleanup's dry run listed and measured the planted workspace without running its core.fsmonitor or hooks; plain git there ran it";
  },
};
