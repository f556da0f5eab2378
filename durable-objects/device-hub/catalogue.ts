import type { Device, FailureCode, TaskStatus, Usage } from "@wegent/protocol";
import type { DeviceMeta } from "./hub-store";

// What a DeviceHub writes through to D1 (the durable catalogue) and pushes to its users' live
// channels. Kept apart so the hub itself reads as presence, slots, queue and dispatch.

export interface DeviceFigures {
  status: Device["status"];
  slotsUsed: number;
  queueLength: number;
}

/** Registers (or re-registers) the device row; the first local device becomes the default. */
export async function upsertDevice(
  env: Env,
  meta: DeviceMeta,
  figures: DeviceFigures,
): Promise<string> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    `INSERT INTO devices (owner_id, device_id, name, type, platform, version, status, slots_used,
       max_slots, queue_length, is_default, token_id, token_expires_at, last_seen_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
       ?4 = 'local' AND NOT EXISTS (SELECT 1 FROM devices WHERE owner_id = ?1 AND is_default = 1),
       ?11, ?12, ?13)
     ON CONFLICT (owner_id, device_id) DO UPDATE SET
       name = excluded.name, type = excluded.type, platform = excluded.platform,
       version = excluded.version, status = excluded.status, slots_used = excluded.slots_used,
       max_slots = excluded.max_slots, queue_length = excluded.queue_length,
       token_id = excluded.token_id, token_expires_at = excluded.token_expires_at,
       last_seen_at = excluded.last_seen_at`,
  )
    .bind(
      meta.ownerId,
      meta.deviceId,
      meta.name,
      meta.type,
      meta.platform,
      meta.version,
      figures.status,
      figures.slotsUsed,
      meta.maxSlots,
      figures.queueLength,
      meta.tokenId,
      meta.tokenExpiresAt,
      now,
    )
    .run();
  const row = await env.DB.prepare(
    "SELECT COALESCE(custom_name, name) AS display FROM devices WHERE owner_id = ? AND device_id = ?",
  )
    .bind(meta.ownerId, meta.deviceId)
    .first<{ display: string }>();
  return row?.display ?? meta.name;
}

/** Writes the live figures through; returns the device as listed, or null if it was deleted. */
export async function writeDeviceFigures(
  env: Env,
  meta: DeviceMeta,
  figures: DeviceFigures,
): Promise<Device | null> {
  const row = await env.DB.prepare(
    `UPDATE devices SET status = ?, slots_used = ?, queue_length = ?, max_slots = ?,
       last_seen_at = COALESCE(?, last_seen_at)
     WHERE owner_id = ? AND device_id = ?
     RETURNING *`,
  )
    .bind(
      figures.status,
      figures.slotsUsed,
      figures.queueLength,
      meta.maxSlots,
      meta.lastSeenAt ? new Date(meta.lastSeenAt).toISOString() : null,
      meta.ownerId,
      meta.deviceId,
    )
    .first<DeviceRow>();
  return row ? toDevice(row) : null;
}

export interface DeviceRow {
  owner_id: string;
  device_id: string;
  name: string;
  custom_name: string | null;
  type: "local" | "cloud";
  platform: string;
  version: string;
  status: Device["status"];
  slots_used: number;
  max_slots: number;
  queue_length: number;
  is_default: number;
  token_id: string | null;
  token_expires_at: string | null;
  last_seen_at: string | null;
}

export function toDevice(row: DeviceRow): Device {
  return {
    id: row.device_id,
    name: row.custom_name ?? row.name,
    type: row.type,
    platform: row.platform,
    version: row.version,
    status: row.status,
    slotsUsed: row.slots_used,
    maxSlots: row.max_slots,
    queueLength: row.queue_length,
    isDefault: row.is_default === 1,
    lastSeenAt: row.last_seen_at,
    tokenExpiresAt: row.token_expires_at,
  };
}

export interface MessageEnd {
  status: Extract<TaskStatus, "completed" | "failed" | "cancelled">;
  content: string;
  errorCode: FailureCode | null;
  errorMessage: string | null;
  sessionId: string | null;
  usage: Usage | null;
  costUsd: number | null;
}

/** The one write of a message's final content, with its task's status, in one batch. */
export async function finishMessage(env: Env, taskId: string, messageId: string, end: MessageEnd) {
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(
      `UPDATE messages SET status = ?, content = ?, error_code = ?, error_message = ?,
         session_id = COALESCE(?, session_id), usage = ?, cost_usd = ?, ended_at = ?
       WHERE id = ?`,
    ).bind(
      end.status,
      end.content,
      end.errorCode,
      end.errorMessage,
      end.sessionId,
      end.usage ? JSON.stringify(end.usage) : null,
      end.costUsd,
      now,
      messageId,
    ),
    env.DB.prepare("UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?").bind(
      end.status,
      now,
      taskId,
    ),
  ]);
}

/** Records a non-terminal transition (queued → running, running → cancelling). */
export async function setMessageStatus(
  env: Env,
  taskId: string,
  messageId: string,
  status: TaskStatus,
) {
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(
      "UPDATE messages SET status = ?, started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END WHERE id = ?",
    ).bind(status, status, now, messageId),
    env.DB.prepare("UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?").bind(
      status,
      now,
      taskId,
    ),
  ]);
}
