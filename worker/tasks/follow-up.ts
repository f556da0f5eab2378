import { and, count, eq } from "drizzle-orm";
import {
  MAX_QUEUED_MESSAGE_BYTES,
  MAX_QUEUED_MESSAGES,
  type Message,
  type RuntimeId,
  type TaskWithMessages,
  utf8Bytes,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { log } from "../../edge/log";
import { nowIso } from "../../edge/time";
import { toDevice } from "../../durable-objects/contract";
import { runtimeName } from "../../durable-objects/device-hub/runtimes";
import { ApiError } from "../lib/errors";
import { callDevice } from "../devices/rpc";
import { toTask } from "./rows";

// Messages the owner sends while a reply runs: they wait in that reply (the executor holds
// them and the running Claude session takes them at its next turn boundary, see
// executor/src/runtime/claude/session.ts), so the owner can type while the agent works.

type TaskRow = typeof schema.tasks.$inferSelect;
type MessageRow = typeof schema.messages.$inferSelect;

/** Null when the reply ended meanwhile: the caller sends the message as a new one. */
export async function queueIntoReply(
  env: Env,
  userId: string,
  task: TaskRow,
  reply: MessageRow,
  text: string,
  interrupt: boolean,
): Promise<TaskWithMessages | null> {
  if (!reply.deviceOwnerId || !reply.deviceId || reply.status === "cancelling") {
    throw new ApiError(409, "task_busy", "This task is stopping. Send your message once it has.");
  }
  if (utf8Bytes(text) > MAX_QUEUED_MESSAGE_BYTES) {
    throw new ApiError(
      413,
      "message_too_long",
      `A message sent while the agent works may be at most ${MAX_QUEUED_MESSAGE_BYTES / 1024} KiB. Shorten it, or wait for the reply and send it then.`,
    );
  }
  const db = database(env.DB);
  const waiting = await db
    .select({ n: count() })
    .from(schema.messages)
    .where(
      and(
        eq(schema.messages.taskId, task.id),
        eq(schema.messages.role, "user"),
        eq(schema.messages.status, "queued"),
      ),
    )
    .get();
  if ((waiting?.n ?? 0) >= MAX_QUEUED_MESSAGES) {
    throw new ApiError(
      429,
      "queue_full",
      `${MAX_QUEUED_MESSAGES} messages already wait for this reply. Remove one, or wait until the agent takes them.`,
    );
  }
  const id = crypto.randomUUID();
  const now = nowIso();
  // Written before the device hears of it: the hub's "taken" write may follow at once.
  await db.insert(schema.messages).values({
    id,
    taskId: task.id,
    role: "user",
    content: text,
    status: "queued",
    createdAt: now,
    deviceOwnerId: reply.deviceOwnerId,
    deviceId: reply.deviceId,
  });
  try {
    await callDevice(
      env,
      reply.deviceOwnerId,
      reply.deviceId,
      "task.message",
      { taskId: task.id, messageId: reply.id, userMessageId: id, text, interrupt },
      "reply",
    );
  } catch (error) {
    await db.delete(schema.messages).where(eq(schema.messages.id, id)).run();
    // The reply ended while the message was on its way: it becomes a follow-up of its own.
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
  log({
    event: "task.message_queued",
    ownerId: userId,
    taskId: task.id,
    messageId: reply.id,
    interrupt,
  });
  const message: Message = {
    id,
    taskId: task.id,
    role: "user",
    content: text,
    status: "queued",
    errorCode: null,
    errorMessage: null,
    deviceId: reply.deviceId,
    queuePosition: (waiting?.n ?? 0) + 1,
    queueReason: null,
    startedAt: null,
    endedAt: null,
    usage: null,
    costUsd: null,
    createdAt: now,
    blocks: [],
    lastSeq: 0,
    stages: null,
    permissionMode: null,
  };
  return { task: toTask(task), messages: [message], pendingInput: [] };
}

/** Removes a message still waiting in the running reply; 409 `message_taken` once it went in. */
export async function withdrawQueued(env: Env, task: TaskRow, messageId: string): Promise<void> {
  const db = database(env.DB);
  const row = await db
    .select()
    .from(schema.messages)
    .where(
      and(
        eq(schema.messages.id, messageId),
        eq(schema.messages.taskId, task.id),
        eq(schema.messages.role, "user"),
      ),
    )
    .get();
  if (!row) throw new ApiError(404, "not_found", "message not found");
  if (row.status !== "queued" || !row.deviceOwnerId || !row.deviceId) {
    throw new ApiError(
      409,
      "message_taken",
      "The agent already took this message; it can no longer be removed.",
    );
  }
  try {
    await callDevice(
      env,
      row.deviceOwnerId,
      row.deviceId,
      "task.withdraw",
      { taskId: task.id, userMessageId: row.id },
      "message",
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new ApiError(
        409,
        "message_taken",
        "The agent already took this message; it can no longer be removed.",
      );
    }
    throw error;
  }
  await db
    .delete(schema.messages)
    .where(and(eq(schema.messages.id, row.id), eq(schema.messages.status, "queued")))
    .run();
}

/** The task's messages still waiting in its reply end `cancelled` (the owner stopped it). */
export async function cancelQueued(env: Env, taskId: string): Promise<void> {
  await database(env.DB)
    .update(schema.messages)
    .set({ status: "cancelled", endedAt: nowIso() })
    .where(
      and(
        eq(schema.messages.taskId, taskId),
        eq(schema.messages.role, "user"),
        eq(schema.messages.status, "queued"),
      ),
    )
    .run();
}

/**
 * 400 `unknown_model` unless the task's runtime on the device offers `model`, with the list.
 * Each runtime is checked against its own models (a Codex task never against Claude's).
 */
export async function checkModel(
  env: Env,
  ownerId: string,
  deviceId: string,
  model: string,
  runtime: RuntimeId,
): Promise<void> {
  const row = await database(env.DB)
    .select()
    .from(schema.devices)
    .where(and(eq(schema.devices.ownerId, ownerId), eq(schema.devices.deviceId, deviceId)))
    .get();
  const agent = row ? toDevice(row).runtimes.find((r) => r.id === runtime) : undefined;
  const name = runtimeName(runtime);
  // Models are reported by the device (Claude Code's learned from a live session): an empty
  // list means none to choose from (yet), so no model can be named.
  const offered = agent?.models.length ? agent.models : null;
  if (offered === null) {
    throw new ApiError(
      400,
      "unknown_model",
      `${name} on this device has not reported any models to choose from. Send without a model to use the device's own setting.`,
    );
  }
  if (!offered.some((m) => m.value === model)) {
    const list = offered.map((m) => m.value).join(", ");
    throw new ApiError(
      400,
      "unknown_model",
      `${name} on this device does not offer the model "${model}". Choose one of: ${list}.`,
    );
  }
}
