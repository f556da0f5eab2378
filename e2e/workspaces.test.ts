// Workspaces end to end: real wrangler dev (local D1 + R2), real wegent-executor processes on
// this machine (in the first test two on ONE executor home with two device ids, `--device-id`),
// real Claude Code against the fake model.
import { scene } from "./scene";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
  closeSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CleanupReport, TaskWithMessages, WorkspaceState } from "@wegent/protocol";
import { text, toolUse } from "./fake-model/server";
import { api, startExecutor, until } from "./harness";

const s = scene("e2e_workspaces");

async function launch() {
  const ex = startExecutor({ origin: s.platform.origin, token: s.token, modelUrl: s.fake.url });
  s.executors.push(ex);
  await ex.waitFor("registered");
  return ex;
}

/** The owner turns on cloud backup: this file is about archives in R2 (off, see workspaces-local). */
async function backUp(deviceId: string) {
  const res = await api(s.platform.origin, "PATCH", `/api/devices/${deviceId}`, {
    cookie: s.user.cookie,
    body: { cloudBackup: true },
  });
  expect(res.status).toBe(200);
}

/** The newest R2 blob of the local bucket (the archive just written). */
function newestBlob(): string {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (p.includes(`${"/"}r2${"/"}`) && p.includes("blobs")) found.push(p);
    }
  };
  visit(s.platform.stateDir);
  found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found[0]) throw new Error(`no R2 blob under ${s.platform.stateDir}`);
  return found[0];
}

describe("workspaces", () => {
  it("survive cleanup, download, restore on follow-up, move to another device with the session, and refuse a tampered archive", async () => {
    const a = await launch();
    // The second executor: same machine, same executor home, its own --device-id.
    const secondId = `e2e-second-${Date.now().toString(16)}`;
    const ex = startExecutor({
      origin: s.platform.origin,
      token: s.token,
      modelUrl: s.fake.url,
      home: a.home,
      deviceId: a.deviceId,
      args: ["--device-id", secondId],
    });
    s.executors.push(ex);
    await ex.waitFor("registered");
    const b = { deviceId: secondId, home: join(a.home, "devices", secondId) };
    await backUp(a.deviceId);
    await backUp(b.deviceId);

    s.fake.on("write the notes", [
      {
        blocks: [
          toolUse("Bash", {
            command:
              "mkdir -p docs node_modules/x && printf 'kept across machines' > docs/notes.txt && printf junk > node_modules/x/big.js",
            description: "write the notes",
          }),
        ],
      },
      { blocks: [text("Wrote docs/notes.txt.")] },
    ]);
    const created = await s.post<TaskWithMessages>("/api/tasks", {
      message: "Please write the notes",
      target: { deviceId: a.deviceId },
    });
    expect(created.status).toBe(201);
    const taskId = created.body.task.id;
    await s.settled(taskId, 2);
    const fileOnA = join(a.home, "workspaces", taskId, "docs", "notes.txt");
    expect(readFileSync(fileOnA, "utf8")).toBe("kept across machines");
    expect((await s.get<WorkspaceState>(`/api/tasks/${taskId}/workspace`)).state).toBe("on_device");

    // A dry run lists the idle workspace and removes nothing.
    const dry = await s.post<CleanupReport>(`/api/devices/${a.deviceId}/cleanup`, {
      olderThanHours: 0,
      dryRun: true,
    });
    expect(dry.status).toBe(200);
    expect(dry.body.entries).toEqual([
      expect.objectContaining({ taskId, outcome: "would_remove" }),
    ]);
    expect(dry.body.totalBytes).toBeGreaterThan(0);
    expect(existsSync(fileOnA)).toBe(true);

    // The real cleanup archives first (verified), then removes.
    const clean = await s.post<CleanupReport>(`/api/devices/${a.deviceId}/cleanup`, {
      olderThanHours: 0,
      dryRun: false,
    });
    expect(clean.body.entries).toEqual([expect.objectContaining({ taskId, outcome: "removed" })]);
    expect(existsSync(join(a.home, "workspaces", taskId))).toBe(false);
    const archived = await s.get<WorkspaceState>(`/api/tasks/${taskId}/workspace`);
    expect(archived).toMatchObject({ state: "archived", deviceId: a.deviceId });
    expect(archived.archive?.sha256).toMatch(/^[0-9a-f]{64}$/);

    // The download is a .tar.gz with the file (and without node_modules), checksum as recorded.
    const res = await fetch(`${s.platform.origin}/api/tasks/${taskId}/workspace/download`, {
      headers: { Cookie: s.user.cookie },
    });
    expect(res.status).toBe(200);
    const tgz = join(mkdtempSync(join(tmpdir(), "wegent-dl-")), "ws.tar.gz");
    writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
    const listing = execFileSync("tar", ["tzf", tgz], { encoding: "utf8" });
    expect(listing).toContain("workspace/docs/notes.txt");
    expect(listing).not.toContain("node_modules");
    expect(listing).toMatch(/claude\/.+\.jsonl/);
    expect(
      execFileSync("tar", ["xzf", tgz, "-O", "workspace/docs/notes.txt"], { encoding: "utf8" }),
    ).toBe("kept across machines");
    const sha = execFileSync("sha256sum", [tgz], { encoding: "utf8" }).split(" ")[0];
    expect(sha).toBe(archived.archive?.sha256);

    // A follow-up on the same device restores the workspace first, then resumes the session.
    s.fake.on("read the notes again", [
      { blocks: [toolUse("Bash", { command: "cat docs/notes.txt", description: "read" })] },
      { blocks: [text("Read them.")] },
    ]);
    expect(
      (await s.post(`/api/tasks/${taskId}/messages`, { message: "read the notes again" })).status,
    ).toBe(201);
    const again = await s.settled(taskId, 4);
    expect(again.messages.at(-1)).toMatchObject({ status: "completed", content: "Read them." });
    expect(readFileSync(fileOnA, "utf8")).toBe("kept across machines");
    const second = s.fake.requests.filter((r) => r.prompt === "read the notes again");
    expect(JSON.stringify(second.at(-1)?.body)).toContain("kept across machines");
    expect(JSON.stringify(second[0]?.body)).toContain("Please write the notes");

    // A follow-up to device B moves the task: A archives, B restores files and session.
    s.fake.on("continue on the other machine", [
      { blocks: [toolUse("Bash", { command: "cat docs/notes.txt; pwd", description: "read" })] },
      { blocks: [text("Continued.")] },
    ]);
    const moved = await s.post(`/api/tasks/${taskId}/messages`, {
      message: "continue on the other machine",
      target: { deviceId: b.deviceId },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(201);
    const there = await s.settled(taskId, 7);
    expect(there.task.deviceId).toBe(b.deviceId);
    expect(there.messages.at(-1)).toMatchObject({ status: "completed", content: "Continued." });
    expect(there.messages.some((m) => m.content.includes("Workspace moved from"))).toBe(true);
    const fileOnB = join(b.home, "workspaces", taskId, "docs", "notes.txt");
    expect(readFileSync(fileOnB, "utf8")).toBe("kept across machines");
    const third = s.fake.requests.filter((r) => r.prompt === "continue on the other machine");
    const sent = JSON.stringify(third.at(-1)?.body);
    expect(sent).toContain("kept across machines");
    expect(sent).toContain(join(b.home, "workspaces", taskId));
    // Same conversation: the first prompt of the task is in what B's Claude sends.
    expect(JSON.stringify(third[0]?.body)).toContain("Please write the notes");
    expect((await s.get<WorkspaceState>(`/api/tasks/${taskId}/workspace`)).deviceId).toBe(
      b.deviceId,
    );

    // Clean it up on B, tamper with the archive in R2: the restore refuses it and says why.
    const cleanB = await s.post<CleanupReport>(`/api/devices/${b.deviceId}/cleanup`, {
      olderThanHours: 0,
      dryRun: false,
    });
    expect(cleanB.body.entries).toEqual([expect.objectContaining({ taskId, outcome: "removed" })]);
    const blob = newestBlob();
    const fd = openSync(blob, "r+");
    const byte = Buffer.alloc(1);
    const at = Math.floor(statSync(blob).size / 2);
    readSync(fd, byte, 0, 1, at);
    writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, at);
    closeSync(fd);
    const refused = await s.post<TaskWithMessages>(`/api/tasks/${taskId}/messages`, {
      message: "one more",
    });
    expect(refused.status).toBe(201);
    const failed = refused.body.messages.find((m) => m.role === "assistant");
    expect(failed).toMatchObject({ status: "failed", errorCode: "workspace_restore_failed" });
    expect(failed?.errorMessage).toMatch(/checksum|corrupt/);
    expect(existsSync(join(b.home, "workspaces", taskId))).toBe(false);
  }, 240_000);

  it("moves a task off an offline device from its last archive, and the chat says from when", async () => {
    const a = await launch();
    const b = await launch();
    s.fake.on("write the plan", [
      {
        blocks: [
          toolUse("Bash", { command: "printf 'step one' > plan.txt", description: "write" }),
        ],
      },
      { blocks: [text("Planned.")] },
    ]);
    const created = await s.post<TaskWithMessages>("/api/tasks", {
      message: "Please write the plan",
      target: { deviceId: a.deviceId },
    });
    const taskId = created.body.task.id;
    await s.settled(taskId, 2);
    const archived = await s.post<WorkspaceState>(`/api/tasks/${taskId}/archive`);
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ state: "on_device", deviceId: a.deviceId });
    const when = archived.body.archive!.createdAt;

    await a.stop("SIGKILL");
    s.fake.on("carry on elsewhere", [
      { blocks: [toolUse("Bash", { command: "cat plan.txt", description: "read" })] },
      { blocks: [text("Carried on.")] },
    ]);
    const moved = await until(
      async () => {
        const res = await s.post(`/api/tasks/${taskId}/messages`, {
          message: "carry on elsewhere",
          target: { deviceId: b.deviceId },
        });
        return res.status === 201 ? res : undefined;
      },
      20_000,
      "the follow-up to be accepted",
    );
    expect(moved.status).toBe(201);
    const there = await s.settled(taskId, 5);
    expect(there.messages.at(-1)).toMatchObject({ status: "completed", content: "Carried on." });
    const note = there.messages.find((m) => m.content.includes("restored from its archive of"));
    expect(note?.content).toContain(`${a.deviceId} is offline`);
    expect(note?.content).toContain(when);
    expect(readFileSync(join(b.home, "workspaces", taskId, "plan.txt"), "utf8")).toBe("step one");
    const sent = s.fake.requests.filter((r) => r.prompt === "carry on elsewhere");
    expect(JSON.stringify(sent.at(-1)?.body)).toContain("step one");
    expect(JSON.stringify(sent[0]?.body)).toContain("Please write the plan");
  }, 120_000);
});
