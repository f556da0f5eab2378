import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { MANIFEST, SESSION_PREFIX, WORKSPACE_PREFIX } from "./layout";
import { restoreFolder, restoreWorktree } from "./lay-out";
import { Manifest, type RestoreContext, RestoreError, type RestoreManifest } from "./manifest";
import { extractTar, TarLimitError, under } from "./tar";

export { RestoreError };

/** What a restore unpacks at most (the archive may come from another, compromised device). */
export const RESTORE_LIMITS = { maxBytes: 8 * 1024 ** 3, maxEntries: 200_000 };

/**
 * Unpacks `body` into a fresh folder next to the workspace while hashing every byte; only when
 * the SHA-256 and size match what the Worker recorded does it lay the files out — as the task's
 * git worktree again (same device, its project still here) or as a scratch workspace — with the
 * task's Claude session folder. Anything else leaves the device as it was.
 */
export async function restoreTask(
  context: RestoreContext,
  body: NodeJS.ReadableStream,
  expected: { sha256: string; size: number },
  limits: { maxBytes: number; maxEntries: number } = RESTORE_LIMITS,
): Promise<{ files: number; place: "worktree" | "folder" }> {
  const { taskId } = context;
  // A fresh folder no one can guess or enter (mkdtemp: random suffix, 0700), beside the
  // workspace so the files move into place with a rename.
  await mkdir(context.roots.workspaceRoot, { recursive: true });
  const staging = await mkdtemp(join(context.roots.workspaceRoot, `.restore-${taskId}-`));
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
        ...limits,
        place: (name) => {
          const [top] = name.split("/");
          if (name === MANIFEST) return join(staging, MANIFEST);
          return top === WORKSPACE_PREFIX || top === SESSION_PREFIX ? under(staging, name) : null;
        },
      }));
      await feeding;
    } catch (error) {
      gunzip.destroy();
      if (error instanceof TarLimitError) {
        throw new RestoreError(
          `The archive is too large to restore: ${error.message} (at most ${limits.maxBytes} bytes in ${limits.maxEntries} files and folders); nothing was restored.`,
        );
      }
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
    const manifest = await readManifest(staging);
    if (manifest) files -= 1;
    // Verified: lay it out.
    await mkdir(join(staging, WORKSPACE_PREFIX), { recursive: true });
    if (manifest?.kind === "worktree" && manifest.deviceId === context.deviceId) {
      const done = await restoreWorktree(context, staging, manifest);
      if (done) return { files, place: "worktree" };
    }
    await restoreFolder(context, staging, manifest);
    return { files, place: "folder" };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function readManifest(staging: string): Promise<RestoreManifest | null> {
  let raw: Buffer;
  try {
    raw = await readFile(join(staging, MANIFEST));
  } catch {
    return null; // a scratch workspace's archive
  }
  const parsed = raw.length <= 64 * 1024 ? Manifest.safeParse(safeJson(raw)) : null;
  if (!parsed?.success)
    throw new RestoreError("The archive's manifest is not valid; not restored.");
  return parsed.data;
}

function safeJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
}
