import { Hono } from "hono";
import { z } from "zod";
import { CleanupRequest, DeviceId, TERMINAL_STATUSES, type TaskStatus } from "@wegent/protocol";
import { schema } from "../../edge/db";
import { log } from "../../edge/log";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { readBody, readParams } from "../lib/validate";
import { askDevice } from "../workspaces/relay";
import {
  archiveSettings,
  keepFor,
  recordKept,
  taskSessionIds,
  workspaceRow,
  workspaceView,
} from "../workspaces/store";

// The user's workspace routes: archive now, where the workspace is, download the archive, and
// clean up a device's idle workspaces.

export const workspaceTaskRoutes = new Hono<AppEnv>();
export const workspaceDeviceRoutes = new Hono<AppEnv>();

const TaskPath = z.object({ id: z.string().uuid("task id must be a UUID") });
const DevicePath = z.object({ id: DeviceId });

// Another user's task (and so its archive) is "not found": never confirm it exists.
const ownTask = (env: Env, userId: string, taskId: string) =>
  ownRow(env.DB, "task", schema.tasks, {
    key: schema.tasks.id,
    id: taskId,
    owner: schema.tasks.ownerId,
    ownerId: userId,
  });

workspaceTaskRoutes.post("/:id/archive", requireUser(), async (c) => {
  const { id } = readParams(c, TaskPath);
  const task = await ownTask(c.env, c.get("user").id, id);
  if (!TERMINAL_STATUSES.has(task.status as TaskStatus)) {
    throw new ApiError(409, "task_busy", "The task is running; archive it once it has answered.");
  }
  if (!task.deviceId || !task.deviceOwnerId) {
    throw new ApiError(409, "workspace_missing", "The task has no device workspace.");
  }
  const row = await workspaceRow(c.env, id);
  // A snapshot kept on the device is laid out there again, then archived (the owner asked).
  if (row && !row.onDevice && !row.snapshotAt) {
    throw new ApiError(409, "not_on_device", "The workspace is archived and not on a device.");
  }
  const device = { ownerId: task.deviceOwnerId, deviceId: task.deviceId };
  await askDevice(c.env, device, {
    method: "workspace.archive",
    taskId: id,
    maxBytes: archiveSettings(c.env).maxBytes,
    sessionIds: await taskSessionIds(c.env, id, device),
  });
  log({ event: "workspace.archived", ownerId: task.ownerId, taskId: id });
  return c.json(workspaceView(task, await workspaceRow(c.env, id)));
});

workspaceTaskRoutes.get("/:id/workspace", requireUser(), async (c) => {
  const { id } = readParams(c, TaskPath);
  const task = await ownTask(c.env, c.get("user").id, id);
  return c.json(workspaceView(task, await workspaceRow(c.env, id)));
});

workspaceTaskRoutes.get("/:id/workspace/download", requireUser(), async (c) => {
  const { id } = readParams(c, TaskPath);
  await ownTask(c.env, c.get("user").id, id);
  const row = await workspaceRow(c.env, id);
  const object = row?.archiveKey ? await c.env.ARCHIVES.get(row.archiveKey) : null;
  if (!object) throw new ApiError(404, "archive_not_found", "This task has no archive yet.");
  return new Response(object.body, {
    headers: {
      "Content-Type": "application/gzip",
      "Content-Length": String(object.size),
      "Content-Disposition": `attachment; filename="task-${id}.tar.gz"`,
      "Cache-Control": "private, no-store",
    },
  });
});

workspaceDeviceRoutes.post("/:id/cleanup", requireUser(), async (c) => {
  const { id } = readParams(c, DevicePath);
  const body = await readBody(c, CleanupRequest);
  const user = c.get("user");
  const device = await ownRow(c.env.DB, "device", schema.devices, {
    key: schema.devices.deviceId,
    id,
    owner: schema.devices.ownerId,
    ownerId: user.id,
  });
  const keep = keepFor(device);
  const answer = await askDevice(
    c.env,
    { ownerId: user.id, deviceId: id },
    { method: "workspace.cleanup", ...body, maxBytes: archiveSettings(c.env).maxBytes, keep },
  );
  if (answer.kind !== "cleanup") throw new ApiError(502, "bad_answer", "Unexpected device answer.");
  await recordKept(c.env, { ownerId: user.id, deviceId: id }, answer.report.entries);
  log({ event: "workspace.cleanup", ownerId: user.id, deviceId: id, dryRun: body.dryRun, keep });
  return c.json(answer.report);
});
