import {
  Block,
  MessageStages,
  PermissionMode,
  type Message,
  type Task,
  type TaskStatus,
  type Usage,
} from "@wegent/protocol";
import { z } from "zod";
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
    ...(row.continuedSessionId ? { continuedSessionId: row.continuedSessionId } : {}),
    runtime: row.runtime,
  };
}

export function toMessage(
  row: MessageRow,
  live?: {
    text: string;
    queuePosition: number | null;
    queueReason?: string | null;
    blocks?: Block[];
    lastSeq?: number;
  } | null,
): Message {
  const mode = PermissionMode.safeParse(row.permissionMode);
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
    blocks: live?.blocks ?? storedBlocks(row.blocks),
    lastSeq: live?.lastSeq ?? 0,
    permissionMode: mode.success ? mode.data : null,
    stages: storedStages(row.stages),
  };
}

/** Stages as stored in D1 (JSON); anything unreadable is "not known". */
function storedStages(value: unknown): MessageStages | null {
  const parsed = MessageStages.safeParse(value);
  return parsed.success ? parsed.data : null;
}

const Blocks = z.array(Block);

/** Blocks as stored in D1 (JSON); anything unreadable shows as no blocks, never as an error. */
function storedBlocks(value: unknown): Block[] {
  const parsed = Blocks.safeParse(value);
  return parsed.success ? parsed.data : [];
}
