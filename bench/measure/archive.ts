// (g) Workspace archives: a real wegent-executor packs a workspace of `mb` MiB (1 MiB files of
// base64 text, so gzip has work to do) into R2 through the local Worker, then restores it on a
// follow-up; next to plain `tar czf` / `tar xzf` of the same folder. Peak executor memory is
// the kernel's high-water mark of its RSS (VmHWM) after archiving.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, startExecutor, until } from "../../e2e/harness";
import { type BenchUser, rssBytes } from "../lib/platform";

export interface ArchiveResult {
  mib: number;
  archiveSeconds: number;
  restoreSeconds: number;
  tarSeconds: number;
  untarSeconds: number;
  archiveBytes: number;
  idleRssMiB: number;
  peakRssMiB: number;
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

function fill(dir: string, mib: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < mib; i++) {
    writeFileSync(join(dir, `file-${i}.txt`), randomBytes(768 * 1024).toString("base64"));
  }
}

export async function measureArchive(
  origin: string,
  user: BenchUser,
  modelUrl: string,
  mib: number,
): Promise<ArchiveResult> {
  const ex = startExecutor({ origin, token: user.token, modelUrl });
  const call = <T>(method: string, path: string, body?: unknown) =>
    api<T>(origin, method, path, { cookie: user.session.cookie, body });
  try {
    await ex.waitFor(/\bregistered\b/, 30_000);
    // The R2 path is measured: the device's cloud backup on (off, a cleanup keeps it locally).
    const backup = await call("PATCH", `/api/devices/${ex.deviceId}`, { cloudBackup: true });
    if (backup.status !== 200) throw new Error(`cloud backup: ${backup.status}`);
    const created = await call<{ task: { id: string } }>("POST", "/api/tasks", {
      message: "bench archive",
      target: { deviceId: ex.deviceId },
    });
    if (created.status !== 201) throw new Error(`task: ${created.status}`);
    const taskId = created.body.task.id;
    await until(
      async () => {
        const t = await call<{ task: { status: string } }>("GET", `/api/tasks/${taskId}`);
        return ["completed", "failed"].includes(t.body.task.status);
      },
      60_000,
      "bench task to end",
    );
    const dir = join(ex.home, "workspaces", taskId);
    fill(join(dir, "data"), mib);
    const idleRssMiB = rssBytes(ex.child.pid!) / 2 ** 20;

    let t0 = performance.now();
    const archived = await call<{ archive: { size: number } | null }>(
      "POST",
      `/api/tasks/${taskId}/archive`,
    );
    const archiveSeconds = (performance.now() - t0) / 1000;
    if (archived.status !== 200) throw new Error(`archive: ${JSON.stringify(archived.body)}`);
    const peakRssMiB = peakRss(ex.child.pid!);

    // Cleanup archives again and removes; the follow-up then restores before it runs.
    const cleaned = await call("POST", `/api/devices/${ex.deviceId}/cleanup`, {
      olderThanHours: 0,
      dryRun: false,
    });
    if (cleaned.status !== 200 || existsSync(dir)) throw new Error("cleanup did not remove");
    t0 = performance.now();
    const follow = await call("POST", `/api/tasks/${taskId}/messages`, { message: "again" });
    const restoreSeconds = (performance.now() - t0) / 1000;
    if (follow.status !== 201 || !existsSync(join(dir, "data", "file-0.txt"))) {
      throw new Error(`restore: ${JSON.stringify(follow.body)}`);
    }

    // Plain tar on the same folder, same machine.
    const scratch = mkdtempSync(join(tmpdir(), "wegent-bench-tar-"));
    t0 = performance.now();
    execFileSync("tar", ["czf", join(scratch, "ws.tar.gz"), "-C", dir, "."]);
    const tarSeconds = (performance.now() - t0) / 1000;
    mkdirSync(join(scratch, "out"));
    t0 = performance.now();
    execFileSync("tar", ["xzf", join(scratch, "ws.tar.gz"), "-C", join(scratch, "out")]);
    const untarSeconds = (performance.now() - t0) / 1000;
    rmSync(scratch, { recursive: true, force: true });
    return {
      mib,
      archiveSeconds,
      restoreSeconds,
      tarSeconds,
      untarSeconds,
      archiveBytes: archived.body.archive?.size ?? 0,
      idleRssMiB,
      peakRssMiB,
    };
  } finally {
    await ex.stop("SIGTERM");
  }
}
