import { eq } from "drizzle-orm";
import type { TaskWithMessages } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { nowIso } from "../../edge/time";
import { toMessage, toTask } from "../tasks/rows";
import type { TaskRow } from "./store";

// What the chat shows about a task's workspace: where it came from after a move, and why a
// follow-up could not run when its workspace could not be restored.

/** A short assistant line before the follow-up ("restored from its archive of …"). */
export async function chatNote(env: Env, task: TaskRow, text: string): Promise<void> {
  await database(env.DB)
    .insert(schema.messages)
    .values({
      id: crypto.randomUUID(),
      taskId: task.id,
      role: "assistant",
      content: `_${text}_`,
      status: "completed",
      createdAt: new Date(Date.now() - 1).toISOString(),
      deviceOwnerId: task.deviceOwnerId,
      deviceId: task.deviceId,
    })
    .run();
}

/** The follow-up is kept, and its reply fails with the reason (checksum, download, …). */
export async function restoreFailure(
  env: Env,
  task: TaskRow,
  text: string,
  reason: string,
): Promise<TaskWithMessages> {
  const db = database(env.DB);
  const now = nowIso();
  const device = { deviceOwnerId: task.deviceOwnerId, deviceId: task.deviceId };
  const user = { id: crypto.randomUUID(), createdAt: now };
  const reply = { id: crypto.randomUUID(), createdAt: new Date(Date.parse(now) + 1).toISOString() };
  await db.batch([
    db.insert(schema.messages).values({
      ...user,
      taskId: task.id,
      role: "user",
      content: text,
      status: "completed",
      ...device,
    }),
    db.insert(schema.messages).values({
      ...reply,
      taskId: task.id,
      role: "assistant",
      content: "",
      status: "failed",
      errorCode: "workspace_restore_failed",
      errorMessage: reason.slice(0, 4000),
      endedAt: now,
      ...device,
    }),
    db
      .update(schema.tasks)
      .set({ status: "failed", updatedAt: now })
      .where(eq(schema.tasks.id, task.id)),
  ]);
  const rows = await db
    .select()
    .from(schema.messages)
    .where(eq(schema.messages.taskId, task.id))
    .all();
  const fresh = await db.select().from(schema.tasks).where(eq(schema.tasks.id, task.id)).get();
  return {
    task: toTask(fresh ?? task),
    messages: rows.filter((m) => m.id === user.id || m.id === reply.id).map((m) => toMessage(m)),
    // The reply failed before it ran: nothing can be waiting for the user.
    pendingInput: [],
  };
}
