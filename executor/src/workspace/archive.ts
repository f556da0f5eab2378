import { createHash } from "node:crypto";
import { lstat, realpath } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { type ArchiveInfo, LocalSessionId } from "@wegent/protocol";
import { gitOut } from "../system/git";
import { type ArchiveClient, PART_SIZE } from "./client";
import { gitKeptFiles } from "./git-files";
import { MANIFEST, SESSION_PREFIX, WORKSPACE_PREFIX } from "./layout";
import { claudeProjectName, taskPaths, type WorkspaceRoots } from "./places";
import type { RestoreManifest } from "./manifest";
import { type TaskPlace, worktreeProject } from "./places";
import { type TarSource, tarStream } from "./tar";
import { addFile, type Listing, walk } from "./walk";

export class ArchiveError extends Error {
  constructor(
    readonly code: "workspace_missing" | "archive_too_large",
    message: string,
  ) {
    super(message);
  }
}

export interface ArchiveContext {
  roots: WorkspaceRoots;
  taskId: string;
  deviceId: string;
  /** The task's Claude sessions; for a task run in place, only these session files go in. */
  sessionIds?: readonly string[];
}

/** Lists what goes into the task's archive: its workspace and its Claude session files. */
export async function archiveSources(place: TaskPlace, context: ArchiveContext) {
  const claudeProjects = taskPaths(context.roots, context.taskId).claudeProjects;
  const folder = claudeProjectName(place.dir);
  let workspace: Listing;
  let sessions: Listing;
  let projectDir: string | null = null;
  const sandboxed = context.roots.agentsSandboxed === true;
  if (place.kind === "scratch" || (place.kind === "in_place" && sandboxed)) {
    // A sandboxed agent's folder: no git run in it (its repo config is the agent's).
    workspace = await walk(place.dir, WORKSPACE_PREFIX, { gitIgnores: !sandboxed });
  } else if (place.kind === "worktree") {
    projectDir = await worktreeProject(place.dir);
    if (!projectDir) throw new ArchiveError("workspace_missing", "The task's worktree is gone.");
    workspace = await gitKeptFiles(place.dir, WORKSPACE_PREFIX);
  } else {
    workspace = (await isCheckoutTop(place.dir))
      ? await gitKeptFiles(place.dir, WORKSPACE_PREFIX)
      : await walk(place.dir, WORKSPACE_PREFIX);
  }
  if (place.kind === "in_place") {
    // The project directory's session folder is the owner's: only this task's sessions.
    sessions = await sessionFiles(join(claudeProjects, folder), folder, context.sessionIds ?? []);
  } else {
    // The task's own cwd, so its own session folder.
    sessions = await walk(join(claudeProjects, folder), `${SESSION_PREFIX}/${folder}`, {
      skipCaches: false,
      gitIgnores: !sandboxed,
    });
  }
  const manifest: RestoreManifest = {
    version: 1,
    kind: place.kind,
    deviceId: context.deviceId,
    dir: place.dir,
    branch: place.kind === "worktree" ? place.branch : null,
    base: place.kind === "worktree" ? place.base : null,
    projectDir,
  };
  const data = Buffer.from(JSON.stringify(manifest));
  const now = Date.now();
  const head: TarSource[] =
    place.kind === "scratch"
      ? []
      : [{ name: MANIFEST, data, kind: "file", size: data.length, mode: 0o644, mtimeMs: now }];
  return {
    sources: [...head, ...workspace.sources, ...sessions.sources],
    files: workspace.files + sessions.files,
    bytes: workspace.bytes + sessions.bytes,
    newestMs: Math.max(workspace.newestMs, sessions.newestMs),
    empty: workspace.sources.length === 0 && sessions.sources.length === 0,
  };
}

async function isCheckoutTop(dir: string): Promise<boolean> {
  const top = await gitOut(["rev-parse", "--show-toplevel"], dir);
  const real = await realpath(dir).catch(() => null);
  return top.ok && top.out.trim() === real;
}

/** `<id>.jsonl` and the `<id>/` folder of each of the task's sessions, nothing else. */
async function sessionFiles(dir: string, folder: string, ids: readonly string[]) {
  const out: Listing = { sources: [], files: 0, bytes: 0, newestMs: 0 };
  for (const id of new Set(ids)) {
    if (!LocalSessionId.safeParse(id).success) continue;
    const file = join(dir, `${id}.jsonl`);
    const info = await lstat(file).catch(() => null);
    if (info?.isFile()) addFile(out, `${SESSION_PREFIX}/${folder}/${id}.jsonl`, file, info);
    const sub = await walk(join(dir, id), `${SESSION_PREFIX}/${folder}/${id}`, {
      skipCaches: false,
    });
    out.sources.push(...sub.sources);
    out.files += sub.files;
    out.bytes += sub.bytes;
    out.newestMs = Math.max(out.newestMs, sub.newestMs);
  }
  return out;
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
  place: TaskPlace,
  context: ArchiveContext,
  client: ArchiveClient,
  maxBytes: number,
): Promise<ArchiveInfo> {
  const listing = await archiveSources(place, context);
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
