import type { Message, Task, TaskStatus, Usage } from "@wegent/protocol";
import type { schema } from "../../edge/db";

type MessageRow = typeof schema.messages.$inferSelect;
type TaskRow = typeof schema.tasks.$inferSelect;

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    title: row.title,
    target: row.target,
    deviceId: row.target === "device" ? row.deviceId : null,
    projectId: row.projectId,
    projectName: row.projectName,
    branch: row.branch,
    status: row.status as TaskStatus,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function toMessage(
  row: MessageRow,
  live?: { text: string; queuePosition: number | null; queueReason?: string | null } | null,
): Message {
  return {
    id: row.id,
    taskId: row.taskId,
    role: row.role,
    content: live ? live.text : row.content,
    status: row.status as TaskStatus,
    errorCode: (row.errorCode as Message["errorCode"]) ?? null,
    errorMessage: row.errorMessage,
    deviceId: row.deviceId,
    queuePosition: live?.queuePosition ?? null,
    queueReason: live?.queueReason ?? null,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
    usage: (row.usage as Usage | null) ?? null,
    costUsd: row.costUsd,
    createdAt: row.createdAt,
  };
}
