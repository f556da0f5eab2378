import { eq, or } from "drizzle-orm";
import {
  availabilityText,
  DEFAULT_PERMISSION_MODE,
  type Message,
  PermissionMode,
  RuntimeId,
  type Task,
  type TaskStatus,
  type TaskWithMessages,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import type { RawRow } from "../../edge/db/raw-row";
import { log } from "../../edge/log";
import { currentTraceparent } from "../telemetry/request";
import { nowIso } from "../../edge/time";
import { ApiError } from "../lib/errors";
import { deviceHub } from "../../durable-objects/contract";
import type { ResolvedTarget } from "./target";

/** The columns of a `devices` row this module reads (raw SQL, so D1's own names). */
type DeviceRow = Pick<
  RawRow<typeof schema.devices>,
  "owner_id" | "device_id" | "name" | "custom_name" | "type" | "status"
>;

// Sending a message to a device costs as few D1 round trips as it can: the rows are written in
// one batch (for a new task on a named device, together with the device check), and the answer
// is built from what was written, never read back.

/** The task a message goes to: a new one (its rows are written here) or an existing one. */
export interface TaskInfo {
  title: string;
  /** The task's branch (a git project's `wegent/<id>`, a continued checkout's), or null. */
  branch: string | null;
  createdAt: string;
  isNew: boolean;
  /** How the agent may use tools for this message. */
  permissionMode: PermissionMode;
  /** The model the owner picked (checked against the device's list), or none. */
  model?: string | null;
  /** A new task that continues a terminal session: that session's id. */
  continuedSessionId?: string | null;
  /** The task's runtime (a new task's choice, or the task's own). */
  runtime: RuntimeId;
}

interface Rows {
  now: string;
  later: string;
  userMessageId: string;
  messageId: string;
}

function newRows(): Rows {
  const now = nowIso();
  return {
    now,
    // A user message and its reply could share a timestamp; the reply sorts after.
    later: new Date(Date.parse(now) + 1).toISOString(),
    userMessageId: crypto.randomUUID(),
    messageId: crypto.randomUUID(),
  };
}

function offline(name: string): ApiError {
  return new ApiError(409, "device_offline", `Device ${availabilityText(name, "offline")}`);
}

/**
 * A new task on a named device: the device check and the three inserts in one D1 batch. The
 * inserts are conditional on the device being the user's and not offline, so a refused device
 * writes nothing.
 */
export async function createOnDevice(
  env: Env,
  userId: string,
  deviceId: string,
  text: string,
  info: { title: string; permissionMode: PermissionMode | null; runtime: RuntimeId | null },
): Promise<TaskWithMessages> {
  const { title } = info;
  const taskId = crypto.randomUUID();
  const r = newRows();
  const available = "FROM devices WHERE owner_id = ? AND device_id = ? AND status != 'offline'";
  // The message's permission mode: the one asked for, else the user's default (if it is still
  // a mode we know), else ours. Only our own constants are spliced into the SQL.
  const known = PermissionMode.options.map((m) => `'${m}'`).join(", ");
  const mode = `COALESCE(?, (SELECT CASE WHEN default_permission_mode IN (${known}) THEN default_permission_mode END FROM user_settings WHERE user_id = ?), '${DEFAULT_PERMISSION_MODE}')`;
  // Raw SQL on purpose: the device check and the three conditional INSERT … SELECT … FROM devices run
  // in one D1 batch (a refused device writes nothing), with the permission mode computed in SQL.
  // The task's runtime likewise: the one asked for, else the user's default, else claude-code.
  const runtimes = RuntimeId.options.map((m) => `'${m}'`).join(", ");
  const runtime = `COALESCE(?, (SELECT CASE WHEN default_runtime IN (${runtimes}) THEN default_runtime END FROM user_settings WHERE user_id = ?), 'claude-code')`;
  const [device] = await env.DB.batch<DeviceRow & { permission_mode: string; runtime: string }>([
    env.DB.prepare(
      `SELECT *, ${mode} AS permission_mode, ${runtime} AS runtime FROM devices WHERE owner_id = ? AND device_id = ?`,
    ).bind(info.permissionMode, userId, info.runtime, userId, userId, deviceId),
    env.DB.prepare(
      `INSERT INTO tasks (id, owner_id, title, target, status, created_at, updated_at, device_owner_id, device_id, runtime)
       SELECT ?, ?, ?, CASE WHEN type = 'cloud' THEN 'cloud' ELSE 'device' END, 'pending', ?, ?, owner_id, device_id, ${runtime} ${available}`,
    ).bind(taskId, userId, title, r.now, r.now, info.runtime, userId, userId, deviceId),
    env.DB.prepare(
      `INSERT INTO messages (id, task_id, role, content, status, created_at, device_owner_id, device_id)
       SELECT ?, ?, 'user', ?, 'completed', ?, owner_id, device_id ${available}`,
    ).bind(r.userMessageId, taskId, text, r.now, userId, deviceId),
    env.DB.prepare(
      `INSERT INTO messages (id, task_id, role, content, status, created_at, permission_mode, device_owner_id, device_id)
       SELECT ?, ?, 'assistant', '', 'pending', ?, ${mode}, owner_id, device_id ${available}`,
    ).bind(r.messageId, taskId, r.later, info.permissionMode, userId, userId, deviceId),
  ]);
  const row = device?.results[0];
  if (!row) throw new ApiError(404, "not_found", "device not found");
  const parsed = PermissionMode.safeParse(row.permission_mode);
  const permissionMode = parsed.success ? parsed.data : DEFAULT_PERMISSION_MODE;
  const taskRuntime = RuntimeId.catch("claude-code").parse(row.runtime);
  if (row.status === "offline") throw offline(row.custom_name ?? row.name);
  const target: ResolvedTarget = {
    kind: row.type === "cloud" ? "cloud" : "device",
    ownerId: row.owner_id,
    deviceId: row.device_id,
    name: row.custom_name ?? row.name,
    project: null,
  };
  return submit(
    env,
    userId,
    taskId,
    text,
    target,
    null,
    { title, branch: null, createdAt: r.now, isNew: true, permissionMode, runtime: taskRuntime },
    r,
  );
}

/**
 * Writes the user's message and the (pending) assistant message — and the task, for a new one
 * — then hands the assistant message to the device's hub. If the hub refuses, the new rows are
 * removed again.
 */
export async function sendToDevice(
  env: Env,
  userId: string,
  taskId: string,
  text: string,
  target: ResolvedTarget,
  resumeSessionId: string | null,
  task: TaskInfo,
): Promise<TaskWithMessages> {
  const db = database(env.DB);
  const r = newRows();
  const device = { deviceOwnerId: target.ownerId, deviceId: target.deviceId };
  const writes = [
    db.insert(schema.messages).values({
      id: r.userMessageId,
      taskId,
      role: "user",
      content: text,
      status: "completed",
      createdAt: r.now,
      ...device,
    }),
    db.insert(schema.messages).values({
      id: r.messageId,
      taskId,
      role: "assistant",
      content: "",
      status: "pending",
      createdAt: r.later,
      permissionMode: task.permissionMode,
      ...device,
    }),
  ] as const;
  if (task.isNew) {
    await db.batch([
      db.insert(schema.tasks).values({
        id: taskId,
        ownerId: userId,
        title: task.title,
        target: target.kind,
        projectId: target.project?.id ?? null,
        projectName: target.project?.name ?? null,
        branch: task.branch,
        status: "pending",
        createdAt: r.now,
        updatedAt: r.now,
        continuedSessionId: task.continuedSessionId ?? null,
        runtime: task.runtime,
        ...device,
      }),
      ...writes,
    ]);
  } else {
    await db.batch([
      db
        .update(schema.tasks)
        .set({ status: "pending", updatedAt: r.now, target: target.kind, ...device })
        .where(eq(schema.tasks.id, taskId)),
      ...writes,
    ]);
  }
  return submit(env, userId, taskId, text, target, resumeSessionId, task, r);
}

async function submit(
  env: Env,
  userId: string,
  taskId: string,
  text: string,
  target: ResolvedTarget,
  resumeSessionId: string | null,
  info: TaskInfo,
  r: Rows,
): Promise<TaskWithMessages> {
  const result = await deviceHub(env, target.ownerId, target.deviceId).submit({
    taskId,
    messageId: r.messageId,
    ownerId: userId,
    prompt: text,
    resumeSessionId,
    projectId: target.project?.id ?? null,
    permissionMode: info.permissionMode,
    model: info.model ?? null,
    runtime: info.runtime,
    traceparent: currentTraceparent(),
  });
  if (!result.ok) {
    const db = database(env.DB);
    if (info.isNew) await db.delete(schema.tasks).where(eq(schema.tasks.id, taskId)).run();
    else
      await db
        .delete(schema.messages)
        .where(or(eq(schema.messages.id, r.userMessageId), eq(schema.messages.id, r.messageId)))
        .run();
    throw new ApiError(409, result.code, result.message);
  }
  log({
    event: "task.created",
    ownerId: userId,
    taskId,
    messageId: r.messageId,
    target: target.kind,
  });
  // What the hub just set (it writes the same status to D1): no need to read it back.
  const status: TaskStatus = result.status;
  const common = {
    taskId,
    errorCode: null,
    errorMessage: null,
    deviceId: target.deviceId,
    blocks: [],
    lastSeq: 0,
    stages: null,
  };
  const messages: Message[] = [
    {
      ...common,
      id: r.userMessageId,
      role: "user",
      content: text,
      status: "completed",
      permissionMode: null,
      queuePosition: null,
      queueReason: null,
      startedAt: null,
      endedAt: null,
      usage: null,
      costUsd: null,
      createdAt: r.now,
    },
    {
      ...common,
      id: r.messageId,
      role: "assistant",
      content: "",
      status,
      permissionMode: info.permissionMode,
      queuePosition: result.queuePosition,
      queueReason: null,
      startedAt: status === "running" ? nowIso() : null,
      endedAt: null,
      usage: null,
      costUsd: null,
      createdAt: r.later,
    },
  ];
  const task: Task = {
    id: taskId,
    title: info.title,
    target: target.kind,
    deviceId: target.kind === "device" ? target.deviceId : null,
    projectId: target.project?.id ?? null,
    projectName: target.project?.name ?? null,
    branch: info.branch,
    status,
    createdAt: info.createdAt,
    updatedAt: r.now,
    ...(info.continuedSessionId ? { continuedSessionId: info.continuedSessionId } : {}),
    runtime: info.runtime,
  };
  return { task, messages, pendingInput: [] };
}
