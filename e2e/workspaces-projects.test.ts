// Project tasks' workspaces end to end (issue #13): a task in a git project works in its own
// worktree; cleanup archives it (verified) and removes only that worktree, keeping its branch; a
// follow-up recreates the worktree on its branch with the files; a follow-up to a second
// executor on the SAME machine and executor home (`--device-id`) gets the files as a folder and
// resumes the same Claude session. A task run in a non-git project directory is never removed.
// Real wrangler dev (local D1 + R2), real executors, real Claude Code against the fake model.
import { scene } from "./scene";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CleanupReport, Device, TaskWithMessages, WorkspaceState } from "@wegent/protocol";
import { text, toolUse } from "./fake-model/server";
import { api, startExecutor } from "./harness";

const s = scene("e2e_ws_projects");

const sh = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

async function projectsOf(deviceId: string) {
  const list = await s.get<{ devices: Device[] }>("/api/devices");
  return list.devices.find((d) => d.id === deviceId)!.projects;
}

describe("project task workspaces", () => {
  it("worktree: cleanup keeps the branch, a follow-up brings it back, a second --device-id on the same home continues the session", async () => {
    const machine = mkdtempSync(join(tmpdir(), "wegent-machine-"));
    const userHome = join(machine, "home");
    const repo = join(machine, "code", "app");
    mkdirSync(repo, { recursive: true });
    sh(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "README.md"), "hello\n");
    sh(repo, "add", "README.md");
    sh(repo, "-c", "user.email=u@e", "-c", "user.name=u", "commit", "-q", "-m", "init");
    const plain = join(machine, "notes");
    mkdirSync(plain);
    mkdirSync(userHome);
    const env = { HOME: userHome, SHELL: "/bin/sh" };
    const a = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env,
      args: ["--project", repo, "--project", plain],
    });
    s.executors.push(a);
    await a.waitFor("registered", 60_000);
    // This file is about archives in R2: the owner turned on cloud backup (off: workspaces-local).
    const backup = await api(s.platform.origin, "PATCH", `/api/devices/${a.deviceId}`, {
      cookie: s.user.cookie,
      body: { cloudBackup: true },
    });
    expect(backup.status).toBe(200);
    const project = (await projectsOf(a.deviceId)).find((p) => p.name === "app")!;
    const notesProject = (await projectsOf(a.deviceId)).find((p) => p.name === "notes")!;

    s.fake.on("write the project notes", [
      {
        blocks: [
          toolUse("Bash", {
            command:
              "printf 'from the worktree' > notes.txt && git add notes.txt && git -c user.email=a@b -c user.name=a commit -qm notes && printf 'not committed' > draft.txt",
            description: "write",
          }),
        ],
      },
      { blocks: [text("Wrote the notes.")] },
    ]);
    const created = await s.post<TaskWithMessages>("/api/tasks", {
      message: "Please write the project notes",
      target: { deviceId: a.deviceId, projectId: project.id },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const taskId = created.body.task.id;
    const short = taskId.slice(0, 8);
    await s.settled(taskId, 2);
    const tree = join(a.home, "worktrees", project.id, short);
    expect(readFileSync(join(tree, "notes.txt"), "utf8")).toBe("from the worktree");

    // A task in the non-git project runs in that directory itself: listed, never removed.
    s.fake.on("jot in place", [
      { blocks: [toolUse("Bash", { command: "printf jot > jot.txt", description: "jot" })] },
      { blocks: [text("Jotted.")] },
    ]);
    const inPlace = await s.post<TaskWithMessages>("/api/tasks", {
      message: "Please jot in place",
      target: { deviceId: a.deviceId, projectId: notesProject.id },
    });
    await s.settled(inPlace.body.task.id, 2);
    expect(readFileSync(join(plain, "jot.txt"), "utf8")).toBe("jot");

    const dry = await s.post<CleanupReport>(`/api/devices/${a.deviceId}/cleanup`, {
      olderThanHours: 0,
      dryRun: true,
    });
    expect(dry.status).toBe(200);
    expect(dry.body.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ taskId, outcome: "would_remove" }),
        expect.objectContaining({
          taskId: inPlace.body.task.id,
          outcome: "kept",
          reason: "project checkout",
        }),
      ]),
    );
    expect(existsSync(tree)).toBe(true);

    const clean = await s.post<CleanupReport>(`/api/devices/${a.deviceId}/cleanup`, {
      olderThanHours: 0,
      dryRun: false,
    });
    expect(clean.body.entries.find((e) => e.taskId === taskId)?.outcome).toBe("removed");
    expect(existsSync(tree)).toBe(false);
    expect(sh(repo, "branch", "--list", `wegent/${short}`)).toContain(`wegent/${short}`);
    expect(existsSync(join(repo, "notes.txt"))).toBe(false);
    expect(readFileSync(join(plain, "jot.txt"), "utf8")).toBe("jot");
    expect((await s.get<WorkspaceState>(`/api/tasks/${taskId}/workspace`)).state).toBe("archived");

    // The download: the worktree's files and the manifest, never .git.
    const res = await fetch(`${s.platform.origin}/api/tasks/${taskId}/workspace/download`, {
      headers: { Cookie: s.user.cookie },
    });
    const tgz = join(mkdtempSync(join(tmpdir(), "wegent-dl-")), "ws.tar.gz");
    writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
    const listing = execFileSync("tar", ["tzf", tgz], { encoding: "utf8" });
    expect(listing).toContain("workspace/notes.txt");
    expect(listing).toContain("workspace/draft.txt");
    expect(listing).toContain("wegent-workspace.json");
    expect(listing).not.toContain(".git/");

    // Same device: the worktree is recreated on its branch, files laid over, session resumed.
    s.fake.on("read the project notes", [
      {
        blocks: [
          toolUse("Bash", {
            command: "cat notes.txt draft.txt; git branch --show-current",
            description: "read",
          }),
        ],
      },
      { blocks: [text("Read.")] },
    ]);
    const again = await s.post(`/api/tasks/${taskId}/messages`, {
      message: "read the project notes",
    });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const back = await s.settled(taskId, 5);
    expect(back.messages.at(-1)).toMatchObject({ status: "completed", content: "Read." });
    expect(back.messages.some((m) => m.content.includes("worktree was recreated"))).toBe(true);
    const second = s.fake.requests.filter((r) => r.prompt === "read the project notes");
    const sent = JSON.stringify(second.at(-1)?.body);
    expect(sent).toContain("from the worktreenot committed");
    expect(sent).toContain(`wegent/${short}`);
    expect(JSON.stringify(second[0]?.body)).toContain("Please write the project notes");

    // A second executor on this machine, same executor home, its own --device-id.
    const otherId = `e2e-second-${Date.now().toString(16)}`;
    const b = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      env,
      home: a.home,
      deviceId: a.deviceId,
      args: ["--project", repo, "--device-id", otherId],
    });
    s.executors.push(b);
    await b.waitFor("registered", 60_000);
    expect(b.output()).toContain(join(a.home, "devices", otherId));
    s.fake.on("continue on the second executor", [
      {
        blocks: [toolUse("Bash", { command: "cat notes.txt draft.txt; pwd", description: "read" })],
      },
      { blocks: [text("Continued there.")] },
    ]);
    const moved = await s.post(`/api/tasks/${taskId}/messages`, {
      message: "continue on the second executor",
      target: { deviceId: otherId },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(201);
    const there = await s.settled(taskId, 8);
    expect(there.task.deviceId).toBe(otherId);
    expect(there.messages.at(-1)).toMatchObject({
      status: "completed",
      content: "Continued there.",
    });
    expect(there.messages.some((m) => m.content.includes("plain folder"))).toBe(true);
    const cwdOnB = join(a.home, "devices", otherId, "workspaces", taskId);
    expect(readFileSync(join(cwdOnB, "notes.txt"), "utf8")).toBe("from the worktree");
    const third = s.fake.requests.filter((r) => r.prompt === "continue on the second executor");
    const sentB = JSON.stringify(third.at(-1)?.body);
    expect(sentB).toContain("from the worktreenot committed");
    expect(sentB).toContain(cwdOnB);
    // The same conversation: the task's first prompt is in what B's Claude sends.
    expect(JSON.stringify(third[0]?.body)).toContain("Please write the project notes");
    // A's worktree (restored above) and its credential are untouched by B.
    expect(readFileSync(join(tree, "notes.txt"), "utf8")).toBe("from the worktree");
    expect(a.child.exitCode).toBeNull();
  }, 300_000);
});
