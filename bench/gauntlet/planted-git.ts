// An agent plants a git config in its workspace that runs a command whenever git reads the
// index there (`core.fsmonitor`), and hooks: the executor's own git in that folder (cleanup's
// disk use and archive listing) must never run them — it would run as the executor, outside a
// cloud sandbox. Real executor, real Claude Code (the fake model scripts the Bash), a real
// cleanup dry run through the platform; then plain git there, to show the plant was live.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CleanupReport,
  type CommandResult,
  WorkspaceDiff,
  WorkspaceFile,
  WorkspaceStatus,
} from "@wegent/protocol";
import { api, until } from "../../e2e/harness";
import type { BenchUser } from "../lib/platform";
import { cloudExecutor, scriptBash, startTask, taskEnded } from "./agent-hunt";
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

/** One built-in command through the platform, as the Changes tab sends it; its JSON answer. */
async function changesCommand(
  origin: string,
  user: BenchUser,
  deviceId: string,
  key: string,
  taskId: string,
  args: Record<string, unknown> = {},
): Promise<unknown> {
  const res = await api<CommandResult>(origin, "POST", `/api/devices/${deviceId}/commands`, {
    cookie: user.session.cookie,
    body: { key, args, taskId },
  });
  expectThat(res.status === 200, `${key} answered ${res.status}: ${JSON.stringify(res.body)}`);
  expectThat(res.body.exitCode === 0, `${key} failed: ${res.body.stderr.slice(0, 300)}`);
  return JSON.parse(res.body.stdout) as unknown;
}

// Cloud mode: the agent runs sandboxed as someone else, the executor holds the operator token
// and the model key. An agent makes a repo in its scratch folder with a clean filter, a
// diff.external and a textconv driver: the Changes tab (workspace.status / diff / file, run by
// the executor) must show its file and run none of them — they would run outside the sandbox.
export const plantedGitCloud: Scenario = {
  name: "a cloud agent's planted git filter and diff driver never run in the executor",
  async run(ctx) {
    const { ex, admin } = await cloudExecutor(ctx, 600);
    // The agent's files belong to its sandbox uid: git's ownership check alone would refuse
    // its repo. Many operators switch that off (containers); the executor must not rely on it.
    writeFileSync(join(ex.home, ".gitconfig"), "[safe]\n\tdirectory = *\n");
    const marker = join(tmpdir(), `wegent-planted-cloud-${randomUUID()}`);
    const markers = ["clean", "ext-diff", "textconv"].map((name) => `${marker}-${name}`);
    const [clean, extDiff, textconv] = markers;
    const prompt = `plant git drivers in the cloud ${randomUUID()}`;
    // Only `git config`: nothing the agent runs itself reads the drivers it plants.
    scriptBash(
      ctx,
      prompt,
      [
        "cd /workspace",
        "git init -q .",
        "printf 'hello from the agent\\n' > a.txt",
        `git config filter.x.clean 'touch ${clean}; cat'`,
        "git config filter.x.required true",
        `git config diff.external 'touch ${extDiff}; true'`,
        `git config diff.t.textconv 'touch ${textconv}; cat'`,
        "printf '* filter=x diff=t\\n' > .gitattributes",
        "echo planted",
      ].join(" && "),
    );
    // The pool's owner runs the task (the Changes tab answers only the task's and device's owner).
    const taskId = await startTask(ctx, admin, prompt, { deviceId: ex.deviceId });
    const end = await taskEnded(ctx, admin, taskId);
    expectThat(end.task.status === "completed", `the planting task ended ${end.task.status}`);
    const workspace = join(ex.home, "workspaces", taskId);
    expectThat(existsSync(join(workspace, ".git", "config")), `no planted repo in ${workspace}`);
    expectThat(
      markers.every((m) => !existsSync(m)),
      "a planted driver ran before the check",
    );

    const origin = ctx.platform.origin;
    const status = WorkspaceStatus.parse(
      await changesCommand(origin, admin, ex.deviceId, "workspace.status", taskId),
    );
    const paths = status.files.map((f) => f.path);
    expectThat(paths.includes("a.txt"), `workspace.status did not list a.txt: ${paths.join()}`);
    expectThat(!paths.some((p) => p.startsWith(".git/")), `status listed git's own files`);
    const diff = WorkspaceDiff.parse(
      await changesCommand(origin, admin, ex.deviceId, "workspace.diff", taskId),
    );
    expectThat(diff.diff.includes("+hello from the agent"), `diff: ${diff.diff.slice(0, 300)}`);
    const file = WorkspaceFile.parse(
      await changesCommand(origin, admin, ex.deviceId, "workspace.file", taskId, {
        path: "a.txt",
      }),
    );
    expectThat(file.content === "hello from the agent\n", `file: ${file.content}`);
    const ran = markers.filter((m) => existsSync(m)).map((m) => m.slice(marker.length + 1));
    expectThat(ran.length === 0, `the executor ran the agent's ${ran.join(", ")}`);

    // Plain git in that folder runs all three: the plant was live, the check could fail.
    const plain = (...args: string[]) =>
      execFileSync("git", ["-c", "safe.directory=*", ...args], { cwd: workspace, stdio: "pipe" });
    plain("add", "-A");
    plain("diff", "--cached");
    plain("diff", "--cached", "--no-ext-diff");
    const live = markers.filter((m) => existsSync(m)).length;
    expectThat(live === 3, `the plant was not live: plain git ran ${live} of 3 drivers`);
    return `status, diff and file through the platform showed the cloud agent's ${paths.length} files and ran none of its clean filter, diff.external, textconv; plain git there ran all 3`;
  },
};
