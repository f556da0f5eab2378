import { and, eq, notInArray, sql } from "drizzle-orm";
import {
  type AppliedCapabilities,
  type Device,
  type DeviceSandbox,
  type DeviceRuntime,
  type OwnerCommandInfo,
  type Project,
  TERMINAL_STATUSES,
  type TaskStatus,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type DeviceRow, toDevice } from "../contract";
import type { MessageEnd } from "./slot-types";
import type { DeviceMeta } from "./store";
import { capReply, replyArchiveKey } from "./reply-cap";

/** Statuses a message never leaves. */
const ENDED = [...TERMINAL_STATUSES];

// What a DeviceHub writes through to D1 (the durable catalogue), through the one drizzle schema.

const { devices, messages, tasks } = schema;

export interface DeviceFigures {
  status: Device["status"];
  slotsUsed: number;
  queueLength: number;
}

/** What a device:register carries that is kept on the device's row. */
export interface Registered {
  commands: OwnerCommandInfo[];
  projects: Project[];
  /** What the device says it applied of its capabilities, when it says. */
  applied: AppliedCapabilities | null;
  /** Cloud mode: its sandbox, as reported. */
  sandbox?: DeviceSandbox | null;
  /** What the device found of its runtimes, when it says. */
  runtimes?: DeviceRuntime[] | null;
}

/**
 * Registers (or re-registers) the device row, with its commands, projects and applied
 * capabilities, in one round trip; the first local device becomes the default. Returns the
 * row as it now is.
 */
export async function upsertDevice(
  env: Env,
  meta: DeviceMeta,
  figures: DeviceFigures,
  registered: Registered,
): Promise<DeviceRow> {
  const now = new Date().toISOString();
  const live = {
    name: meta.name,
    type: meta.type,
    platform: meta.platform,
    version: meta.version,
    status: figures.status,
    slotsUsed: figures.slotsUsed,
    maxSlots: meta.maxSlots,
    queueLength: figures.queueLength,
    tokenId: meta.tokenId,
    tokenExpiresAt: meta.tokenExpiresAt,
    lastSeenAt: now,
    commands: JSON.stringify(registered.commands),
    projects: JSON.stringify(registered.projects),
    sandbox: registered.sandbox ? JSON.stringify(registered.sandbox) : null,
    ...(registered.runtimes ? { runtimes: JSON.stringify(registered.runtimes) } : {}),
    ...(registered.applied
      ? {
          capabilitiesApplied: registered.applied.digest,
          capabilitiesError: registered.applied.error,
          // Re-registered by an older executor: no policy reported, none shown.
          capabilitiesPolicy: registered.applied.policy
            ? JSON.stringify(registered.applied.policy)
            : null,
        }
      : {}),
  };
  const noDefaultYet = sql`NOT EXISTS (SELECT 1 FROM ${devices} WHERE ${devices.ownerId} = ${meta.ownerId} AND ${devices.isDefault} = 1)`;
  return database(env.DB)
    .insert(devices)
    .values({
      ownerId: meta.ownerId,
      deviceId: meta.deviceId,
      ...live,
      isDefault: meta.type === "local" ? sql`${noDefaultYet}` : false,
    })
    .onConflictDoUpdate({ target: [devices.ownerId, devices.deviceId], set: live })
    .returning()
    .get();
}

/** Writes the live figures through; returns the device as listed, or null if it was deleted. */
export async function writeDeviceFigures(
  env: Env,
  meta: DeviceMeta,
  figures: DeviceFigures,
): Promise<Device | null> {
  const row = await database(env.DB)
    .update(devices)
    .set({
      status: figures.status,
      slotsUsed: figures.slotsUsed,
      queueLength: figures.queueLength,
      maxSlots: meta.maxSlots,
      ...(meta.lastSeenAt ? { lastSeenAt: new Date(meta.lastSeenAt).toISOString() } : {}),
    })
    .where(and(eq(devices.ownerId, meta.ownerId), eq(devices.deviceId, meta.deviceId)))
    .returning()
    .get();
  return row ? toDevice(row) : null;
}

/** Writes what the device found of its runtimes through (a heartbeat that carries them). */
export async function writeDeviceRuntimes(env: Env, meta: DeviceMeta, runtimes: DeviceRuntime[]) {
  await database(env.DB)
    .update(devices)
    .set({ runtimes: JSON.stringify(runtimes) })
    .where(and(eq(devices.ownerId, meta.ownerId), eq(devices.deviceId, meta.deviceId)))
    .run();
}

/** Writes the advertised projects through (register, and heartbeats that carry them). */
export async function writeDeviceProjects(env: Env, meta: DeviceMeta, projects: Project[]) {
  await database(env.DB)
    .update(devices)
    .set({ projects: JSON.stringify(projects) })
    .where(and(eq(devices.ownerId, meta.ownerId), eq(devices.deviceId, meta.deviceId)))
    .run();
}

/**
 * The one write of a message's final content, with its task's status, in one batch. A reply too
 * big for a D1 row is stored capped, its full text first put in R2 under the owner.
 */
export async function finishMessage(
  env: Env,
  ownerId: string,
  taskId: string,
  messageId: string,
  end: MessageEnd,
) {
  const db = database(env.DB);
  const now = new Date().toISOString();
  const capped = capReply(end.content);
  if (capped.truncated) {
    await env.ARCHIVES.put(replyArchiveKey(ownerId, messageId), end.content, {
      httpMetadata: { contentType: "text/plain; charset=utf-8" },
    });
  }
  await db.batch([
    db
      .update(messages)
      .set({
        status: end.status,
        content: capped.text,
        errorCode: end.errorCode,
        errorMessage: end.errorMessage,
        ...(end.sessionId !== null ? { sessionId: end.sessionId } : {}),
        usage: end.usage,
        costUsd: end.costUsd,
        blocks: end.blocks,
        stages: end.stages ?? null,
        endedAt: now,
      })
      .where(eq(messages.id, messageId)),
    db.update(tasks).set({ status: end.status, updatedAt: now }).where(eq(tasks.id, taskId)),
    // Messages the owner sent into this reply that it never took end with it.
    db
      .update(messages)
      .set({ status: "cancelled", endedAt: now })
      .where(
        and(eq(messages.taskId, taskId), eq(messages.role, "user"), eq(messages.status, "queued")),
      ),
  ]);
}

/** A message the owner sent while the reply ran went into the running session. */
export async function takeUserMessage(env: Env, taskId: string, userMessageId: string) {
  await database(env.DB)
    .update(messages)
    .set({ status: "completed" })
    .where(
      and(
        eq(messages.id, userMessageId),
        eq(messages.taskId, taskId),
        eq(messages.role, "user"),
        eq(messages.status, "queued"),
      ),
    )
    .run();
}

/** Records a non-terminal transition (queued → running, running → cancelling). */
export async function setMessageStatus(
  env: Env,
  taskId: string,
  messageId: string,
  status: TaskStatus,
) {
  const db = database(env.DB);
  const now = new Date().toISOString();
  // Never over an ended message (a late status must not undo its final write), and the task
  // follows only when its message took the status.
  await db.batch([
    db
      .update(messages)
      .set({
        status,
        ...(status === "running"
          ? { startedAt: sql`COALESCE(${messages.startedAt}, ${now})` }
          : {}),
      })
      .where(and(eq(messages.id, messageId), notInArray(messages.status, ENDED))),
    db
      .update(tasks)
      .set({ status, updatedAt: now })
      .where(
        and(
          eq(tasks.id, taskId),
          sql`EXISTS (SELECT 1 FROM messages WHERE messages.id = ${messageId} AND messages.status = ${status})`,
        ),
      ),
  ]);
}
