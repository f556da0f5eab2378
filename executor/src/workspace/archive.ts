import { createHash } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { ArchiveInfo } from "@wegent/protocol";
import { type ArchiveClient, PART_SIZE } from "./client";
import { claudeProjectName, SESSION_PREFIX, type TaskPaths, WORKSPACE_PREFIX } from "./layout";
import { tarStream } from "./tar";
import { walk } from "./walk";

export class ArchiveError extends Error {
  constructor(
    readonly code: "workspace_missing" | "archive_too_large",
    message: string,
  ) {
    super(message);
  }
}

/** Lists what goes into the task's archive: its workspace and its Claude session folders. */
export async function archiveSources(paths: TaskPaths) {
  const workspace = await walk(paths.workspaceDir, WORKSPACE_PREFIX);
  // Only this task's session folder (in local mode the projects folder is the owner's own).
  const folder = claudeProjectName(paths.workspaceDir);
  const sessions = await walk(
    join(paths.claudeProjects, folder),
    `${SESSION_PREFIX}/${folder}`,
    false,
  );
  return {
    sources: [...workspace.sources, ...sessions.sources],
    files: workspace.files + sessions.files,
    empty: workspace.sources.length === 0 && sessions.sources.length === 0,
  };
}

/**
 * Streams tar → gzip → SHA-256 → `sink` in pieces; only the gzip window and one part are ever
 * in memory. Stops with `archive_too_large` once the compressed size passes `maxBytes`.
 */
export async function packTo(
  sources: Awaited<ReturnType<typeof archiveSources>>["sources"],
  maxBytes: number,
  sink: (chunk: Buffer) => Promise<void>,
): Promise<{ sha256: string; size: number }> {
  const gzip = createGzip({ chunkSize: 256 * 1024 });
  const feeding = pipeline(Readable.from(tarStream(sources)), gzip);
  feeding.catch(() => undefined);
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of gzip) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        throw new ArchiveError(
          "archive_too_large",
          `The workspace archive is larger than the ${maxBytes}-byte limit; nothing was stored.`,
        );
      }
      hash.update(buf);
      await sink(buf);
    }
    await feeding;
  } catch (error) {
    gzip.destroy();
    throw error;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Packs the task's workspace and uploads it in R2 multipart parts; resolves once verified. */
export async function archiveTask(
  paths: TaskPaths,
  client: ArchiveClient,
  maxBytes: number,
): Promise<ArchiveInfo> {
  const listing = await archiveSources(paths);
  if (listing.empty) {
    throw new ArchiveError("workspace_missing", "This device has no workspace for the task.");
  }
  const upload = await client.start();
  const parts: { partNumber: number; etag: string }[] = [];
  // One part buffer, reused: memory stays flat however large the archive is.
  const part = Buffer.allocUnsafe(PART_SIZE);
  let filled = 0;
  const flush = async () => {
    parts.push(await client.part(upload, parts.length + 1, part.subarray(0, filled)));
    filled = 0;
  };
  try {
    const summary = await packTo(listing.sources, maxBytes, async (chunk) => {
      let offset = 0;
      // R2 wants every part but the last of one size.
      while (offset < chunk.length) {
        const n = chunk.copy(part, filled, offset);
        filled += n;
        offset += n;
        if (filled === PART_SIZE) await flush();
      }
    });
    if (filled > 0 || parts.length === 0) await flush();
    return await client.complete(upload, parts, { ...summary, files: listing.files });
  } catch (error) {
    await client.abort(upload);
    throw error;
  }
}
