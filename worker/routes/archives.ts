import { Hono } from "hono";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { CompleteUpload, type ArchiveInfo } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { log } from "../../edge/log";
import { nowIso } from "../../edge/time";
import { type AppEnv, bearerToken } from "../auth/identity";
import { ApiError } from "../lib/errors";
import { readBody, readParams, readQuery } from "../lib/validate";
import { verifyGrant } from "../workspaces/grant";
import { abortDangling, forgetUpload, rememberUpload } from "../workspaces/pending";
import { archiveSettings, saveWorkspace, usedBytes, workspaceRow } from "../workspaces/store";

// The executor's archive routes (`/api/devices/archives/:taskId/...`), authenticated with the
// grant the hub handed it. Only the device that holds a task may upload or download its archive.
// Uploads are R2 multipart (every part but the last of one size); the Worker streams each part
// and, on complete, reads the object back through SHA-256 before it counts as verified.

export const archiveRoutes = new Hono<AppEnv>();

const PART_MAX = 16 * 1024 * 1024;
const TaskPath = z.object({ taskId: z.string().uuid("task id must be a UUID") });
const UploadPath = TaskPath.extend({ uploadId: z.string().min(1).max(1000) });
const PartPath = UploadPath.extend({ part: z.coerce.number().int().min(1).max(10_000) });
const NonceQuery = z.object({ nonce: z.string().uuid() });

/**
 * The task, if the grant's device holds it; else 403 (a task of nobody's is 404). `upload`: the
 * route writes to R2, which only a grant for an archive the owner asked for (or cloud backup)
 * allows: a local device's cleanup without backup gets 403 `upload_not_allowed`, so even an
 * older executor that ignores `keep: "device"` uploads nothing.
 */
async function heldTask(
  c: { env: Env; req: { header(name: string): string | undefined } },
  taskId: string,
  upload = false,
) {
  const grant = await verifyGrant(c.env, bearerToken(c.req.header("Authorization")));
  const task = await database(c.env.DB)
    .select()
    .from(schema.tasks)
    .where(eq(schema.tasks.id, taskId))
    .get();
  if (!task || task.deviceOwnerId !== grant.deviceOwnerId) {
    throw new ApiError(404, "not_found", "task not found");
  }
  if (task.deviceId !== grant.deviceId) {
    log({ event: "archive.refused", taskId, deviceId: grant.deviceId }, "warn");
    throw new ApiError(403, "task_not_on_device", "This device does not hold the task.");
  }
  if (upload && !grant.upload) {
    log({ event: "archive.upload_refused", taskId, deviceId: grant.deviceId }, "warn");
    throw new ApiError(
      403,
      "upload_not_allowed",
      "This device keeps its task workspaces on the device: nothing is uploaded unless the owner archives, moves or downloads a task, or turns on cloud backup for the device.",
    );
  }
  return task;
}

const keyOf = (ownerId: string, taskId: string, nonce: string) =>
  `archives/${ownerId}/${taskId}/${nonce}.tar.gz`;

archiveRoutes.post("/:taskId/uploads", async (c) => {
  const { taskId } = readParams(c, TaskPath);
  const task = await heldTask(c, taskId, true);
  const { quotaBytes } = archiveSettings(c.env);
  const used = await usedBytes(c.env, task.ownerId, taskId);
  if (used >= quotaBytes) {
    throw new ApiError(
      413,
      "quota_exceeded",
      `Archive storage is full (${used} of ${quotaBytes} bytes). Delete tasks to free space.`,
    );
  }
  // A run that died mid-upload (executor restart) left its multipart upload open: abort it.
  if (await abortDangling(c.env, task.ownerId, taskId)) {
    log({ event: "archive.dangling_aborted", ownerId: task.ownerId, taskId });
  }
  const nonce = crypto.randomUUID();
  const key = keyOf(task.ownerId, taskId, nonce);
  const upload = await c.env.ARCHIVES.createMultipartUpload(key, {
    httpMetadata: { contentType: "application/gzip" },
  });
  await rememberUpload(c.env, task.ownerId, taskId, { key, uploadId: upload.uploadId });
  return c.json({ uploadId: upload.uploadId, nonce }, 201);
});

archiveRoutes.put("/:taskId/uploads/:uploadId/parts/:part", async (c) => {
  const { taskId, uploadId, part } = readParams(c, PartPath);
  const { nonce } = readQuery(c, NonceQuery);
  const task = await heldTask(c, taskId, true);
  const length = Number(c.req.header("Content-Length"));
  if (!Number.isInteger(length) || length <= 0 || length > PART_MAX) {
    throw new ApiError(
      400,
      "invalid_part",
      `A part needs a Content-Length of 1..${PART_MAX} bytes.`,
    );
  }
  const { maxBytes } = archiveSettings(c.env);
  if ((part - 1) * 5 * 1024 * 1024 > maxBytes) {
    throw new ApiError(413, "archive_too_large", `The archive passes the ${maxBytes}-byte limit.`);
  }
  const upload = c.env.ARCHIVES.resumeMultipartUpload(keyOf(task.ownerId, taskId, nonce), uploadId);
  const body = c.req.raw.body;
  if (!body) throw new ApiError(400, "invalid_part", "The part is empty.");
  const uploaded = await upload.uploadPart(part, body);
  return c.json({ partNumber: uploaded.partNumber, etag: uploaded.etag });
});

archiveRoutes.delete("/:taskId/uploads/:uploadId", async (c) => {
  const { taskId, uploadId } = readParams(c, UploadPath);
  const { nonce } = readQuery(c, NonceQuery);
  const task = await heldTask(c, taskId);
  await c.env.ARCHIVES.resumeMultipartUpload(keyOf(task.ownerId, taskId, nonce), uploadId)
    .abort()
    .catch(() => undefined);
  await forgetUpload(c.env, task.ownerId, taskId, uploadId);
  return c.json({ ok: true });
});

archiveRoutes.post("/:taskId/uploads/:uploadId/complete", async (c) => {
  const { taskId, uploadId } = readParams(c, UploadPath);
  const { nonce } = readQuery(c, NonceQuery);
  const body = await readBody(c, CompleteUpload);
  const task = await heldTask(c, taskId, true);
  const key = keyOf(task.ownerId, taskId, nonce);
  const upload = c.env.ARCHIVES.resumeMultipartUpload(key, uploadId);
  const { maxBytes, quotaBytes } = archiveSettings(c.env);
  const refuse = async (status: 413 | 422, code: string, message: string) => {
    await c.env.ARCHIVES.delete(key);
    throw new ApiError(status, code, message);
  };
  const object = await upload.complete(body.parts);
  await forgetUpload(c.env, task.ownerId, taskId, uploadId);
  if (object.size > maxBytes) {
    await refuse(413, "archive_too_large", `The archive passes the ${maxBytes}-byte limit.`);
  }
  const used = await usedBytes(c.env, task.ownerId, taskId);
  if (used + object.size > quotaBytes) {
    await refuse(
      413,
      "quota_exceeded",
      `This archive (${object.size} bytes) does not fit: ${used} of ${quotaBytes} bytes are used.`,
    );
  }
  // Verify what R2 holds, not what the executor says it sent.
  const stored = await c.env.ARCHIVES.get(key);
  if (!stored) return refuse(422, "archive_corrupt", "The archive vanished after upload.");
  const digest = new crypto.DigestStream("SHA-256");
  await stored.body.pipeTo(digest);
  const sha256 = [...new Uint8Array(await digest.digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  if (sha256 !== body.sha256 || object.size !== body.size) {
    await refuse(422, "archive_corrupt", "The stored archive does not match its SHA-256 or size.");
  }
  const previous = await workspaceRow(c.env, taskId);
  const archivedAt = nowIso();
  await saveWorkspace(c.env, task, {
    deviceOwnerId: task.deviceOwnerId,
    deviceId: task.deviceId,
    archiveKey: key,
    archiveSize: object.size,
    archiveSha256: sha256,
    archiveFiles: body.files,
    archivedAt,
    archivedFrom: task.deviceId,
    archiveError: null,
    // A task kept as a snapshot is laid out on its device again before it is packed.
    ...(previous?.snapshotAt ? { onDevice: true, snapshotAt: null } : {}),
  });
  if (previous?.archiveKey && previous.archiveKey !== key) {
    await c.env.ARCHIVES.delete(previous.archiveKey);
  }
  log({ event: "archive.stored", ownerId: task.ownerId, taskId, size: object.size });
  return c.json({
    size: object.size,
    sha256,
    files: body.files,
    createdAt: archivedAt,
  } satisfies ArchiveInfo);
});

/** The task's last archive, for a restore on the device that now holds the task. */
archiveRoutes.get("/:taskId", async (c) => {
  const { taskId } = readParams(c, TaskPath);
  await heldTask(c, taskId);
  const row = await workspaceRow(c.env, taskId);
  const object = row?.archiveKey ? await c.env.ARCHIVES.get(row.archiveKey) : null;
  if (!object) throw new ApiError(404, "archive_not_found", "This task has no archive.");
  return new Response(object.body, {
    headers: { "Content-Type": "application/gzip", "Content-Length": String(object.size) },
  });
});

/** The device removed the workspace (after a verified archive): the archive is the copy now. */
archiveRoutes.post("/:taskId/removed", async (c) => {
  const { taskId } = readParams(c, TaskPath);
  const task = await heldTask(c, taskId);
  const row = await workspaceRow(c.env, taskId);
  if (!row?.archiveKey) {
    throw new ApiError(
      409,
      "not_archived",
      "A workspace without an archive must stay on its device.",
    );
  }
  await database(c.env.DB)
    .update(schema.taskWorkspaces)
    .set({ onDevice: false, snapshotAt: null, updatedAt: nowIso() })
    .where(and(eq(schema.taskWorkspaces.taskId, task.id)))
    .run();
  return c.json({ ok: true });
});
