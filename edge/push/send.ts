import { and, eq, lt } from "drizzle-orm";
import { buildPushPayload } from "@block65/webcrypto-web-push";
import {
  MAX_PUSH_PAYLOAD_BYTES,
  type PushKind,
  type PushPayload,
  type PushPreferences,
  utf8Bytes,
} from "@wegent/protocol";
import { database, schema } from "../db";
import { log } from "../log";
import { pushEndpointProblem } from "./endpoints";

/** How long each send stays recorded (Settings shows the last result of each browser). */
export const PUSH_SENDS_KEEP_DAYS = 30;

import type { PushNotice, PushRetry } from "./notice";
export type { PushNotice, PushRetry } from "./notice";

export const DEFAULT_PUSH_PREFERENCES: PushPreferences = {
  needsInput: true,
  finished: true,
  failed: true,
  deviceOffline: true,
};

/** A day for news; a request lives as long as it can be answered. */
const TTL_SECONDS = 24 * 60 * 60;
const PUSH_TIMEOUT_MS = 10_000;
const PREFERENCE: Record<PushKind, keyof PushPreferences> = {
  needs_input: "needsInput",
  finished: "finished",
  failed: "failed",
  device_offline: "deviceOffline",
};

export async function pushPreferences(env: Env, userId: string): Promise<PushPreferences> {
  const row = await database(env.DB)
    .select()
    .from(schema.pushPreferences)
    .where(eq(schema.pushPreferences.userId, userId))
    .get();
  if (!row) return DEFAULT_PUSH_PREFERENCES;
  return {
    needsInput: row.needsInput,
    finished: row.finished,
    failed: row.failed,
    deviceOffline: row.deviceOffline,
  };
}

function describe(notice: PushNotice): string {
  switch (notice.kind) {
    case "needs_input":
      if (notice.requestKind === "question") return "The agent has a question for you.";
      if (notice.requestKind === "plan") return "The agent has a plan for you to approve.";
      return `The agent asks to use ${notice.tool ?? "a tool"}.`;
    case "finished":
      return "The agent finished its reply.";
    case "failed":
      return "The agent's reply failed.";
    case "device_offline":
      return "Its device went offline; the task stopped.";
  }
}

/** The payload, within MAX_PUSH_PAYLOAD_BYTES (the title is cut when it must be). */
export function pushPayload(notice: PushNotice, taskTitle: string): PushPayload {
  const payload: PushPayload = {
    kind: notice.kind,
    taskId: notice.taskId,
    ...(notice.requestId ? { requestId: notice.requestId } : {}),
    ...(notice.requestKind ? { requestKind: notice.requestKind } : {}),
    title: taskTitle,
    body: describe(notice),
    url: `/#/tasks/${notice.taskId}`,
  };
  while (utf8Bytes(JSON.stringify(payload)) > MAX_PUSH_PAYLOAD_BYTES) {
    payload.title = `${[...payload.title].slice(0, Math.floor([...payload.title].length * 0.8)).join("")}…`;
  }
  return payload;
}

/** Seconds (or an HTTP date) of a Retry-After header, as an ISO time; 60 s when absent. */
function retryAt(header: string | null, now: number): string {
  const seconds = Number(header);
  if (header !== null && Number.isFinite(seconds) && seconds >= 0) {
    return new Date(now + Math.min(seconds, 86_400) * 1000).toISOString();
  }
  const date = header === null ? NaN : Date.parse(header);
  return new Date(Number.isFinite(date) ? date : now + 60_000).toISOString();
}

/**
 * Sends one event's push to every subscription of the user (unless the user turned the kind
 * off), or only to `only` (a retry), and records each send. Returns the subscriptions worth
 * another try. Never throws: a push must not fail the task path.
 */
export async function sendPush(
  env: Env,
  ownerId: string,
  notice: PushNotice,
  only: readonly string[] | null = null,
): Promise<PushRetry[]> {
  try {
    return await sendPushOrThrow(env, ownerId, notice, only);
  } catch (error) {
    log({ event: "push.failed", ownerId, kind: notice.kind, message: String(error) }, "error");
    return [];
  }
}

/** Worth another try: rate limited, a server error, or not reached at all (0). */
const retriable = (status: number) => status === 429 || status === 0 || status >= 500;

async function sendPushOrThrow(
  env: Env,
  ownerId: string,
  notice: PushNotice,
  only: readonly string[] | null,
): Promise<PushRetry[]> {
  const retries: PushRetry[] = [];
  if (!env.VAPID_PUBLIC_KEY || !env.VAPID_PRIVATE_KEY) return retries; // push not configured
  const db = database(env.DB);
  const preferences = await pushPreferences(env, ownerId);
  if (!preferences[PREFERENCE[notice.kind]]) return retries;
  const [subscriptions, task] = await Promise.all([
    db
      .select()
      .from(schema.pushSubscriptions)
      .where(eq(schema.pushSubscriptions.ownerId, ownerId))
      .all(),
    db
      .select({ title: schema.tasks.title })
      .from(schema.tasks)
      .where(and(eq(schema.tasks.id, notice.taskId), eq(schema.tasks.ownerId, ownerId)))
      .get(),
  ]);
  if (subscriptions.length === 0 || !task) return retries;
  const payload = pushPayload(notice, task.title);
  const allowLoopback = env.PUSH_ALLOW_LOOPBACK === "1";
  const vapid = {
    subject: env.VAPID_SUBJECT || "mailto:admin@wegent-edge.invalid",
    publicKey: env.VAPID_PUBLIC_KEY,
    privateKey: env.VAPID_PRIVATE_KEY,
  };
  await Promise.all(
    subscriptions.map(async (sub) => {
      if (only !== null && !only.includes(sub.id)) return;
      const now = Date.now();
      if (sub.retryAfter && Date.parse(sub.retryAfter) > now) {
        // The service asked to wait: this push goes when it may, not never.
        retries.push({ subscriptionId: sub.id, at: Date.parse(sub.retryAfter) });
        return;
      }
      // Checked again at send time: a row written before a tighter list is not trusted.
      if (pushEndpointProblem(sub.endpoint, allowLoopback) !== null) return;
      const request = await buildPushPayload(
        {
          data: payload,
          options: {
            ttl: TTL_SECONDS,
            // RFC 8030 §5.4: at most 32 base64url characters; a newer push for the task replaces.
            topic: notice.taskId.replaceAll("-", ""),
            urgency: notice.kind === "needs_input" ? "high" : "normal",
          },
        },
        {
          endpoint: sub.endpoint,
          expirationTime: null,
          keys: { p256dh: sub.p256dh, auth: sub.auth },
        },
        vapid,
      );
      // A fresh header set: nothing of the caller's (no `traceparent`, no cookie) goes along.
      const headers = new Headers(request.headers);
      headers.delete("traceparent");
      let status = 0;
      let retryAfter: string | null = null;
      try {
        const response = await fetch(sub.endpoint, {
          method: "POST",
          headers,
          body: request.body,
          redirect: "manual",
          signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
        });
        status = response.status;
        if (status === 429) retryAfter = retryAt(response.headers.get("Retry-After"), now);
        await response.body?.cancel();
      } catch {
        // unreachable or timed out: recorded as 0
      }
      log({
        event: "push.sent",
        ownerId,
        subscriptionId: sub.id,
        kind: notice.kind,
        status,
        ms: Date.now() - now,
      });
      const sentAt = new Date().toISOString();
      const record = db
        .insert(schema.pushSends)
        .values({
          ownerId,
          eventKey: notice.eventKey,
          taskId: notice.taskId,
          subscriptionId: sub.id,
          status,
          createdAt: sentAt,
        })
        // A retry of the same event records its latest outcome.
        .onConflictDoUpdate({
          target: [
            schema.pushSends.ownerId,
            schema.pushSends.eventKey,
            schema.pushSends.subscriptionId,
          ],
          set: { status, createdAt: sentAt },
        });
      // The record of sends is kept for PUSH_SENDS_KEEP_DAYS (the hub's own dedup keys, 7 days).
      const prune = db
        .delete(schema.pushSends)
        .where(
          and(
            eq(schema.pushSends.ownerId, ownerId),
            lt(
              schema.pushSends.createdAt,
              new Date(now - PUSH_SENDS_KEEP_DAYS * 24 * 60 * 60 * 1000).toISOString(),
            ),
          ),
        );
      const mine = and(
        eq(schema.pushSubscriptions.id, sub.id),
        eq(schema.pushSubscriptions.ownerId, ownerId),
      );
      if (status === 404 || status === 410) {
        // The browser unsubscribed or the subscription expired: it will never work again.
        log({ event: "push.removed", ownerId, subscriptionId: sub.id, status });
        await db.batch([record, prune, db.delete(schema.pushSubscriptions).where(mine)]);
        return;
      }
      await db.batch([
        record,
        prune,
        db
          .update(schema.pushSubscriptions)
          .set({ lastSentAt: sentAt, lastStatus: status, retryAfter })
          .where(mine),
      ]);
      if (retriable(status)) {
        retries.push({ subscriptionId: sub.id, at: retryAfter ? Date.parse(retryAfter) : null });
      }
    }),
  );
  return retries;
}
