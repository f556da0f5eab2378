// Local stays local (issue #26, finding 6): the hourly cleanup on a local device without cloud
// backup keeps an idle task's state ON the machine — its uncommitted and untracked changes on
// `refs/wegent/snapshots/<task>` of the project's own repository, its session in a pack under
// the executor's home — uploads nothing to R2, and a follow-up recreates the worktree from that
// snapshot with the uncommitted files back. With the device's cloud backup turned on, the same
// cleanup archives to R2. Real wrangler dev (local D1 + R2, the cron handler run through its
// `/cdn-cgi/local/scheduled` trigger), a real executor, real Claude Code against the fake model, a real repo.
import { scene } from "./scene";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DeviceBody, DevicesBody, TaskWithMessages, WorkspaceState } from "@wegent/protocol";
import { text, toolUse } from "./fake-model/server";
import { api, startExecutor, until } from "./harness";

// Idle for 0.36 s counts as idle: the cron run below finds the task's workspace at once.
const s = scene("e2e_ws_local", { vars: { WORKSPACE_IDLE_HOURS: "0.0001" } });

const sh = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

/** Every object the local R2 bucket holds (its blob files under the platform's state). */
function r2Blobs(): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (p.includes("/r2/") && p.includes("blobs")) found.push(p);
    }
  };
  visit(s.platform.stateDir);
  return found;
}

/** What the hourly cron trigger does, now (wrangler dev's trigger for the Worker's cron). */
async function hourlyCleanup() {
  await new Promise((r) => setTimeout(r, 1500));
  const res = await fetch(`${s.platform.origin}/cdn-cgi/local/scheduled?cron=0+*+*+*+*`);
  expect(await res.text()).toBe("ok");
}

const workspaceOf = (taskId: string) => s.get<WorkspaceState>(`/api/tasks/${taskId}/workspace`);

describe("local stays local", () => {
  it("the hourly cleanup keeps a local project task on the machine (nothing in R2), a follow-up restores it; with cloud backup on it uploads", async () => {
    const machine = mkdtempSync(join(tmpdir(), "wegent-local-"));
    const userHome = join(machine, "home");
    const repo = join(machine, "code", "app");
    mkdirSync(repo, { recursive: true });
    mkdirSync(userHome);
    sh(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "README.md"), "hello\n");
    writeFileSync(join(repo, "gone.txt"), "to be deleted\n");
    sh(repo, "add", ".");
    sh(repo, "-c", "user.email=u@e", "-c", "user.name=u", "commit", "-q", "-m", "init");
    const a = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env: { HOME: userHome, SHELL: "/bin/sh" },
      args: ["--project", repo],
    });
    s.executors.push(a);
    await a.waitFor("registered", 60_000);
    const listed = await s.get<DevicesBody>("/api/devices");
    const device = listed.devices.find((d) => d.id === a.deviceId)!;
    const project = device.projects.find((p) => p.name === "app")!;

    s.fake.on("draft the release notes", [
      {
        blocks: [
          toolUse("Bash", {
            command:
              "printf 'committed work' > notes.txt && git add notes.txt && git -c user.email=a@b -c user.name=a commit -qm notes && printf 'changed\\n' >> README.md && printf 'not committed' > draft.txt && rm gone.txt",
            description: "write",
          }),
        ],
      },
      { blocks: [text("Drafted.")] },
    ]);
    const created = await s.post<TaskWithMessages>("/api/tasks", {
      message: "Please draft the release notes",
      target: { deviceId: a.deviceId, projectId: project.id },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const taskId = created.body.task.id;
    const short = taskId.slice(0, 8);
    await s.settled(taskId, 2);
    const tree = join(a.home, "worktrees", project.id, short);
    expect(readFileSync(join(tree, "draft.txt"), "utf8")).toBe("not committed");
    const branchTip = sh(repo, "rev-parse", `wegent/${short}`);
    const mainHead = sh(repo, "rev-parse", "HEAD");
    const mainStatus = sh(repo, "status", "--porcelain");
    const mainIndex = sh(repo, "ls-files", "-s");

    // The hourly cleanup: the worktree goes, its state stays on the machine, R2 stays empty.
    await hourlyCleanup();
    const kept = await until(
      async () => {
        const ws = await workspaceOf(taskId);
        return ws.state !== "on_device" ? ws : undefined;
      },
      60_000,
      "the cleanup to remove the worktree",
    );
    expect(existsSync(tree)).toBe(false);
    expect(r2Blobs()).toEqual([]);
    expect(kept).toMatchObject({ state: "snapshot", archive: null, deviceId: a.deviceId });
    const download = await fetch(`${s.platform.origin}/api/tasks/${taskId}/workspace/download`, {
      headers: { Cookie: s.user.cookie },
    });
    expect(download.status).toBe(404);
    // The snapshot: a hidden ref in the project's own repository; branch and checkout untouched.
    const ref = `refs/wegent/snapshots/${taskId}`;
    expect(sh(repo, "show", `${ref}:draft.txt`)).toBe("not committed");
    expect(sh(repo, "show", `${ref}:README.md`)).toBe("hello\nchanged");
    expect(sh(repo, "rev-parse", `${ref}^`)).toBe(branchTip);
    expect(sh(repo, "rev-parse", `wegent/${short}`)).toBe(branchTip);
    expect(sh(repo, "rev-parse", "HEAD")).toBe(mainHead);
    expect(sh(repo, "status", "--porcelain")).toBe(mainStatus);
    expect(sh(repo, "ls-files", "-s")).toBe(mainIndex);
    expect(existsSync(join(a.home, "snapshots", `${taskId}.tar.gz`))).toBe(true);

    // A follow-up on the same device: the worktree is back with its uncommitted files, and the
    // Claude session resumes.
    s.fake.on("read the draft", [
      {
        blocks: [
          toolUse("Bash", {
            command: "cat draft.txt README.md; git status --porcelain; git branch --show-current",
            description: "read",
          }),
        ],
      },
      { blocks: [text("Read the draft.")] },
    ]);
    const again = await s.post(`/api/tasks/${taskId}/messages`, { message: "read the draft" });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const back = await s.settled(taskId, 5);
    expect(back.messages.at(-1)).toMatchObject({ status: "completed", content: "Read the draft." });
    expect(
      back.messages.some((m) => m.content.includes("from the snapshot kept on this device")),
    ).toBe(true);
    expect(readFileSync(join(tree, "draft.txt"), "utf8")).toBe("not committed");
    expect(readFileSync(join(tree, "README.md"), "utf8")).toBe("hello\nchanged\n");
    expect(readFileSync(join(tree, "notes.txt"), "utf8")).toBe("committed work");
    expect(existsSync(join(tree, "gone.txt"))).toBe(false);
    const status = execFileSync("git", ["status", "--porcelain"], { cwd: tree, encoding: "utf8" });
    expect(status.split("\n").filter(Boolean).sort()).toEqual([
      " D gone.txt",
      " M README.md",
      "?? draft.txt",
    ]);
    const sent = s.fake.requests.filter((r) => r.prompt === "read the draft");
    expect(JSON.stringify(sent.at(-1)?.body)).toContain("not committed");
    expect(JSON.stringify(sent[0]?.body)).toContain("Please draft the release notes");
    expect((await workspaceOf(taskId)).state).toBe("on_device");
    expect(r2Blobs()).toEqual([]);

    // Cloud backup was off (the default); bad bodies are refused; then the owner turns it on.
    expect(device.cloudBackup).toBe(false);
    for (const body of [{}, { cloudBackup: "yes" }, { cloudBackup: true, extra: 1 }]) {
      const bad = await api(s.platform.origin, "PATCH", `/api/devices/${a.deviceId}`, {
        cookie: s.user.cookie,
        body,
      });
      expect(bad.status, JSON.stringify(body)).toBe(400);
    }
    const on = await api<DeviceBody>(s.platform.origin, "PATCH", `/api/devices/${a.deviceId}`, {
      cookie: s.user.cookie,
      body: { cloudBackup: true },
    });
    expect(on.status).toBe(200);
    expect(on.body.device.cloudBackup).toBe(true);
    await hourlyCleanup();
    const archived = await until(
      async () => {
        const ws = await workspaceOf(taskId);
        return ws.state === "archived" ? ws : undefined;
      },
      60_000,
      "the cleanup to archive the workspace to R2",
    );
    expect(archived.archive?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r2Blobs().length).toBeGreaterThan(0);
    expect(existsSync(tree)).toBe(false);
  }, 300_000);
});
