import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { claudeProjectName, SESSION_PREFIX, type TaskPaths, WORKSPACE_PREFIX } from "./layout";
import { extractTar, under } from "./tar";

export class RestoreError extends Error {
  readonly code = "archive_corrupt";
}

/**
 * Unpacks `body` into a fresh folder next to the workspace while hashing every byte; only when
 * the SHA-256 and size match what the Worker recorded does it replace the workspace and the
 * task's Claude session folder. Anything else leaves the device as it was.
 */
export async function restoreTask(
  paths: TaskPaths,
  workspaceRoot: string,
  body: NodeJS.ReadableStream,
  expected: { sha256: string; size: number },
): Promise<{ files: number }> {
  const taskId = paths.workspaceDir.split(/[\\/]/).pop() ?? "task";
  const staging = join(workspaceRoot, `.restore-${taskId}-${Date.now()}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const hash = createHash("sha256");
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const feeding = pipeline(body, tap, gunzip);
    feeding.catch(() => undefined);
    let files: number;
    try {
      ({ files } = await extractTar(gunzip, {
        place: (name) => {
          const [top] = name.split("/");
          return top === WORKSPACE_PREFIX || top === SESSION_PREFIX ? under(staging, name) : null;
        },
      }));
      await feeding;
    } catch (error) {
      gunzip.destroy();
      throw new RestoreError(
        `The archive is corrupt or truncated (${error instanceof Error ? error.message : String(error)}); the workspace was not restored.`,
      );
    }
    const sha256 = hash.digest("hex");
    if (sha256 !== expected.sha256 || size !== expected.size) {
      throw new RestoreError(
        `The archive failed its checksum (expected SHA-256 ${expected.sha256.slice(0, 12)}… of ${expected.size} bytes, got ${sha256.slice(0, 12)}… of ${size}); the workspace was not restored.`,
      );
    }
    // Verified: swap it in.
    await mkdir(join(staging, WORKSPACE_PREFIX), { recursive: true });
    await rm(paths.workspaceDir, { recursive: true, force: true });
    await rename(join(staging, WORKSPACE_PREFIX), paths.workspaceDir);
    const sessions = join(staging, SESSION_PREFIX);
    const folders = await readdir(sessions).catch(() => [] as string[]);
    if (folders.length > 0) {
      await mkdir(paths.claudeProjects, { recursive: true });
      // The session folder is named after the cwd, which differs on another device.
      const here = join(paths.claudeProjects, claudeProjectName(paths.workspaceDir));
      await rm(here, { recursive: true, force: true });
      const main = folders.find((f) => f.endsWith(taskId)) ?? folders[0]!;
      await rename(join(sessions, main), here);
      for (const other of folders.filter((f) => f !== main)) {
        const dest = join(paths.claudeProjects, other);
        await rm(dest, { recursive: true, force: true });
        await rename(join(sessions, other), dest);
      }
    }
    return { files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
