import { Hono } from "hono";
import { and, asc, desc, eq, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import {
  CreateTask,
  type PendingInput,
  SendMessage,
  type TaskBody,
  type TaskPage,
  type TaskStatus,
  type TaskWithMessages,
  TERMINAL_STATUSES,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError, notFound } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { nowIso } from "../../edge/time";
import { readBody, readParams, readQuery } from "../lib/validate";
import { deviceHub } from "../../durable-objects/contract";
import { callDevice } from "../devices/rpc";
import { resolveTarget, type ResolvedTarget } from "../tasks/target";
import { toMessage, toTask } from "../tasks/rows";
import { createOnDevice, sendToDevice } from "../tasks/send";
import { cancelQueued, checkModel, queueIntoReply, withdrawQueued } from "../tasks/follow-up";
import { taskEventStream } from "../tasks/events";
import { userSettings } from "./settings";
import type { HubPartial } from "../../durable-objects/contract";
import { chatNote, restoreFailure } from "../workspaces/chat";
import { prepareWorkspace, RestoreFailed } from "../workspaces/move";
import { deleteArchive, workspaceRow } from "../workspaces/store";
import { forgetOnDevices, type HeldBy } from "../workspaces/forget";
import { checkMessageMode, checkQueuedMode } from "../auth/person";

export const taskRoutes = new Hono<AppEnv>();
taskRoutes.use("*", requireUser());

const TaskPath = z.object({ id: z.string().uuid("task id must be a UUID") });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: z.string().max(200).optional(),
});

const isTerminal = (status: string) => TERMINAL_STATUSES.has(status as TaskStatus);

export function ownTask(env: Env, userId: string, taskId: string) {
  return ownRow(env.DB, "task", schema.tasks, {
    key: schema.tasks.id,
    id: taskId,
    owner: schema.tasks.ownerId,
    ownerId: userId,
  });
}

/** The task (if it is the user's) and its messages, in one round trip to D1. */
export async function ownTaskWithMessages(env: Env, userId: string, taskId: string) {
  const db = database(env.DB);
  const [tasks, messages] = await db.batch([
    db
      .select()
      .from(schema.tasks)
      .where(and(eq(schema.tasks.id, taskId), eq(schema.tasks.ownerId, userId))),
    db
      .select()
      .from(schema.messages)
      .where(
        and(
          eq(schema.messages.taskId, taskId),
          // Scoped by owner here too: another user's messages never leave D1.
          sql`EXISTS (SELECT 1 FROM tasks WHERE tasks.id = ${taskId} AND tasks.owner_id = ${userId})`,
        ),
      )
      .orderBy(asc(schema.messages.createdAt), asc(schema.messages.role)),
  ]);
  const task = tasks[0];
  if (!task) throw notFound("task");
  return { task, messages };
}

export async function taskMessages(env: Env, taskId: string) {
  return database(env.DB)
    .select()
    .from(schema.messages)
    .where(eq(schema.messages.taskId, taskId))
    .orderBy(asc(schema.messages.createdAt), asc(schema.messages.role))
    .all();
}

/**
 * A task's title from its first message: the first line, cut at a word (with "…") when over
 * 80 characters; a single long word is cut where it must be.
 */
export function titleFrom(message: string): string {
  const line = message.trim().split("\n")[0]!.trim();
  const chars = Array.from(line);
  if (chars.length <= 80) return line;
  const cut = chars.slice(0, 79).join("");
  const space = cut.search(/\s\S*$/);
  return `${(space >= 40 ? cut.slice(0, space) : cut).trimEnd().replace(/[,;:.-]+$/, "")}…`;
}

taskRoutes.post("/", async (c) => {
  const body = await readBody(c, CreateTask);
  await checkMessageMode(c, body.permissionMode);
  const user = c.get("user");
  const title = body.title ?? titleFrom(body.message);
  const plain = body.target && body.target !== "cloud" ? body.target : null;
  if (
    plain &&
    plain.projectId === undefined &&
    body.continueSessionId === undefined &&
    !body.model
  ) {
    // A named device, no project: its check and the user's default permission mode ride in
    // the same D1 batch as the writes.
    return c.json(
      await createOnDevice(c.env, user.id, plain.deviceId, body.message, {
        title,
        permissionMode: body.permissionMode ?? null,
        runtime: body.runtime ?? null,
      }),
      201,
    );
  }
  const settings = await userSettings(c.env, user.id);
  const permissionMode = body.permissionMode ?? settings.defaultPermissionMode;
  let runtime = body.runtime ?? settings.defaultRuntime;
  const target = await resolveTarget(c.env, user.id, body.target, runtime);
  const taskId = crypto.randomUUID();
  const project = target.project;
  const continueSessionId = body.continueSessionId ?? null;
  if (continueSessionId !== null && !project) {
    throw new ApiError(
      400,
      "invalid_body",
      "invalid body: continueSessionId needs target.projectId (the session's project)",
    );
  }
  // A git project: the task's own branch; a continued terminal session: the checkout's branch.
  let branch = project?.git ? `wegent/${taskId.slice(0, 8)}` : null;
  if (project && continueSessionId !== null) {
    const found = await callDevice(
      c.env,
      target.ownerId,
      target.deviceId,
      "sessions.get",
      { sessionId: continueSessionId },
      "session",
    );
    if (found.session.projectId !== project.id) {
      throw new ApiError(404, "session_not_found", "session not found in this project");
    }
    // A continued session goes on with the agent that made it (a Codex thread on Codex).
    if (body.runtime && body.runtime !== found.session.runtime) {
      throw new ApiError(
        409,
        "runtime_mismatch",
        `This session was made by ${found.session.runtime}: it is continued with it, not ${body.runtime}.`,
      );
    }
    runtime = found.session.runtime;
    branch = project.git ? project.branch : null;
  }
  if (body.model) await checkModel(c.env, target.ownerId, target.deviceId, body.model, runtime);
  const result = await sendToDevice(
    c.env,
    user.id,
    taskId,
    body.message,
    target,
    continueSessionId,
    {
      title,
      branch,
      createdAt: nowIso(),
      isNew: true,
      permissionMode,
      model: body.model ?? null,
      continuedSessionId: continueSessionId,
      runtime,
    },
  );
  return c.json(result, 201);
});

taskRoutes.post("/:id/messages", async (c) => {
  const { id } = readParams(c, TaskPath);
  const body = await readBody(c, SendMessage);
  await checkMessageMode(c, body.permissionMode);
  const user = c.get("user");
  const { task, messages } = await ownTaskWithMessages(c.env, user.id, id);
  if (body.runtime && body.runtime !== task.runtime) {
    throw new ApiError(
      409,
      "runtime_mismatch",
      `This task runs on ${task.runtime}: a task keeps its runtime. Start a new task to use ${body.runtime}.`,
    );
  }
  const answering = messages.find((m) => m.role === "assistant" && !isTerminal(m.status));
  if (answering) {
    if (
      body.target ||
      body.model ||
      answering.status === "pending" ||
      answering.status === "queued"
    ) {
      throw new ApiError(
        409,
        "task_busy",
        body.target || body.model
          ? "This task is still answering: another device or model can be chosen once it has."
          : "This task waits for a free slot. Send your message once it has started, or stop it.",
      );
    }
    await checkQueuedMode(c, answering.permissionMode);
    // A message joins the running reply in the reply's mode: one asking for another is refused,
    // never silently run under the reply's (perhaps less careful) mode.
    if (
      body.permissionMode &&
      answering.permissionMode &&
      body.permissionMode !== answering.permissionMode
    ) {
      throw new ApiError(
        409,
        "mode_busy",
        `This reply runs in ${answering.permissionMode}: a message sent while it works joins it in that mode. Send it without a mode, stop the reply, or send it in ${body.permissionMode} once the reply has ended.`,
      );
    }
    const queued = await queueIntoReply(
      c.env,
      user.id,
      task,
      answering,
      body.message,
      body.interrupt === true,
    );
    if (queued) return c.json(queued, 202);
    // The reply ended meanwhile: the message is an ordinary follow-up.
  } else if (body.interrupt) {
    throw new ApiError(
      400,
      "nothing_to_interrupt",
      "This task is not answering: there is nothing to interrupt. Send the message without interrupt.",
    );
  }
  // Follow-ups stay on the task's device; only an explicit target switches (and is recorded).
  let target: ResolvedTarget;
  if (body.target) {
    target = await resolveTarget(c.env, user.id, body.target, task.runtime);
  } else if (task.target === "cloud") {
    target = await resolveTarget(c.env, user.id, "cloud", task.runtime);
  } else {
    target = await resolveTarget(c.env, user.id, {
      deviceId: task.deviceId ?? "",
      ...(task.projectId ? { projectId: task.projectId } : {}),
    });
  }
  if (body.model) {
    await checkModel(c.env, target.ownerId, target.deviceId, body.model, task.runtime);
  }
  const previous = [...messages].reverse().find((m) => m.role === "assistant" && m.sessionId);
  const sameDevice =
    previous && previous.deviceId === target.deviceId && previous.deviceOwnerId === target.ownerId;
  // The workspace goes where the follow-up runs (restored after a cleanup, or moved).
  const prepared = await prepareWorkspace(c.env, task, target).catch((error: unknown) => {
    if (error instanceof RestoreFailed) return error;
    throw error;
  });
  if (prepared instanceof RestoreFailed) {
    return c.json(await restoreFailure(c.env, task, body.message, prepared.message), 201);
  }
  if (prepared.note) await chatNote(c.env, task, prepared.note);
  const moved = prepared.resume;
  const result = await sendToDevice(
    c.env,
    user.id,
    id,
    body.message,
    target,
    previous && (sameDevice || moved) ? (previous.sessionId ?? null) : null,
    {
      title: task.title,
      branch: task.branch,
      createdAt: task.createdAt,
      isNew: false,
      permissionMode:
        body.permissionMode ?? (await userSettings(c.env, user.id)).defaultPermissionMode,
      model: body.model ?? null,
      runtime: task.runtime,
    },
  );
  return c.json(result, 201);
});

const QueuedPath = z.object({
  id: z.string().uuid("task id must be a UUID"),
  messageId: z.string().uuid("message id must be a UUID"),
});

/** Removes a message still waiting in the running reply (409 `message_taken` once taken). */
taskRoutes.delete("/:id/messages/:messageId", async (c) => {
  const { id, messageId } = readParams(c, QueuedPath);
  const user = c.get("user");
  const task = await ownTask(c.env, user.id, id);
  await withdrawQueued(c.env, task, messageId);
  return c.json({ ok: true });
});

taskRoutes.post("/:id/cancel", async (c) => {
  const { id } = readParams(c, TaskPath);
  const user = c.get("user");
  const task = await ownTask(c.env, user.id, id);
  let cancelling = false;
  for (const m of await taskMessages(c.env, id)) {
    if (m.role !== "assistant" || isTerminal(m.status)) continue;
    const outcome =
      m.deviceOwnerId && m.deviceId
        ? await deviceHub(c.env, m.deviceOwnerId, m.deviceId).cancel(m.id, user.id)
        : "not_found";
    if (outcome === "cancelling") cancelling = true;
    if (outcome === "not_found") {
      // The hub no longer holds it (e.g. it never got there): end it here so nothing stays open.
      const now = nowIso();
      const db = database(c.env.DB);
      await db.batch([
        db
          .update(schema.messages)
          .set({
            status: "cancelled",
            errorCode: "cancelled",
            errorMessage: "Cancelled.",
            endedAt: now,
          })
          .where(eq(schema.messages.id, m.id)),
        db
          .update(schema.tasks)
          .set({ status: "cancelled", updatedAt: now })
          .where(eq(schema.tasks.id, id)),
      ]);
    }
  }
  // Messages still waiting in the reply go with it.
  await cancelQueued(c.env, id);
  const after = toTask(await ownTask(c.env, user.id, task.id));
  // The hub writes "cancelling" to D1 behind its answer; its answer is the newer word.
  if (cancelling && !isTerminal(after.status)) after.status = "cancelling";
  return c.json({ task: after } satisfies TaskBody);
});

taskRoutes.get("/", async (c) => {
  const { limit, cursor } = readQuery(c, ListQuery);
  const user = c.get("user");
  let where = eq(schema.tasks.ownerId, user.id);
  if (cursor) {
    const [createdAt, cursorId] = cursor.split("|");
    if (!createdAt || !cursorId)
      throw new ApiError(400, "invalid_query", "invalid query: cursor is malformed");
    where = and(
      where,
      or(
        lt(schema.tasks.createdAt, createdAt),
        and(eq(schema.tasks.createdAt, createdAt), lt(schema.tasks.id, cursorId)),
      ),
    )!;
  }
  const rows = await database(c.env.DB)
    .select()
    .from(schema.tasks)
    .where(where)
    .orderBy(desc(schema.tasks.createdAt), desc(schema.tasks.id))
    .limit(limit + 1)
    .all();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return c.json({
    tasks: page.map(toTask),
    nextCursor: rows.length > limit && last ? `${last.createdAt}|${last.id}` : null,
  } satisfies TaskPage);
});

taskRoutes.get("/:id", async (c) => {
  const { id } = readParams(c, TaskPath);
  const user = c.get("user");
  return c.json((await taskRecord(c.env, user.id, id)) satisfies TaskWithMessages);
});

/** A task with every message as it is now, and the requests waiting for the user. */
export async function taskRecord(
  env: Env,
  userId: string,
  taskId: string,
): Promise<TaskWithMessages> {
  const { task, messages: rows } = await ownTaskWithMessages(env, userId, taskId);
  const pendingInput: PendingInput[] = [];
  let liveStatus: TaskStatus | null = null;
  const messages = await Promise.all(
    rows.map(async (m) => {
      if (m.role !== "assistant" || isTerminal(m.status) || !m.deviceOwnerId || !m.deviceId)
        return toMessage(m);
      // A running reply's partial content lives in the device's hub until it completes.
      // (Typed by hand: RPC typing cannot carry the tool inputs' `unknown`.)
      const hub = deviceHub(env, m.deviceOwnerId, m.deviceId);
      const live = (await hub.partial(m.id)) as HubPartial | null;
      if (!live) return toMessage(m);
      pendingInput.push(...live.pendingInput);
      const message = toMessage(m, live);
      // The hub writes a status change to D1 behind its answer: a row still "pending" or
      // "queued" may not have it yet, and the hub's own word is newer.
      if (m.status === "pending" || m.status === "queued") {
        message.status = live.status;
        liveStatus = live.status;
      }
      return message;
    }),
  );
  const record = toTask(task);
  if (liveStatus && (record.status === "pending" || record.status === "queued")) {
    record.status = liveStatus;
  }
  return { task: record, messages, pendingInput };
}

taskRoutes.delete("/:id", async (c) => {
  const { id } = readParams(c, TaskPath);
  const user = c.get("user");
  const task = await ownTask(c.env, user.id, id);
  // Every device that ran the task or holds its workspace is asked to forget its files.
  const held: HeldBy[] = [];
  const hold = (ownerId: string | null, deviceId: string | null) => {
    if (ownerId && deviceId) held.push({ ownerId, deviceId });
  };
  hold(task.deviceOwnerId, task.deviceId);
  for (const m of await taskMessages(c.env, id)) {
    hold(m.deviceOwnerId, m.deviceId);
    if (m.role === "assistant" && !isTerminal(m.status) && m.deviceOwnerId && m.deviceId) {
      await deviceHub(c.env, m.deviceOwnerId, m.deviceId).cancel(m.id, user.id);
    }
  }
  const workspace = await workspaceRow(c.env, id);
  hold(workspace?.deviceOwnerId ?? null, workspace?.deviceId ?? null);
  await forgetOnDevices(c.env, user.id, id, held);
  await deleteArchive(c.env, id);
  await database(c.env.DB).delete(schema.tasks).where(eq(schema.tasks.id, id)).run();
  return c.json({ ok: true });
});

const EventsQuery = z.object({ after: z.coerce.number().int().nonnegative().optional() });

/**
 * The task's events as Server-Sent Events, for API clients. Resumes after `Last-Event-ID` (or
 * `?after=`); ends once no message of the task is still running.
 */
taskRoutes.get("/:id/events", async (c) => {
  const { id } = readParams(c, TaskPath);
  const { after } = readQuery(c, EventsQuery);
  const lastEventId = c.req.header("Last-Event-ID");
  if (lastEventId !== undefined && !/^\d{1,15}$/.test(lastEventId)) {
    throw new ApiError(400, "invalid_header", "Last-Event-ID must be a whole number.");
  }
  const user = c.get("user");
  await ownTask(c.env, user.id, id);
  const from = lastEventId !== undefined ? Number(lastEventId) : (after ?? null);
  const idle = async () =>
    (await taskMessages(c.env, id)).every((m) => m.role === "user" || isTerminal(m.status));
  return taskEventStream(c.env, user.id, id, from, idle);
});
