import { z } from "zod";
import { Id } from "./common";

// Web Push (RFC 8030/8291/8292): the browser's subscription, the user's preferences, what a
// push carries, and the browser's focus report on the live channel.

/** Largest endpoint URL we keep (push services' URLs are a few hundred bytes). */
export const MAX_PUSH_ENDPOINT_BYTES = 1024;
/** Subscriptions per user (browsers and phones). */
export const MAX_PUSH_SUBSCRIPTIONS = 20;
/** A push's JSON payload, before encryption, in UTF-8 bytes. */
export const MAX_PUSH_PAYLOAD_BYTES = 3 * 1024;

const base64url = (what: string, min: number, max: number) =>
  z
    .string()
    .min(min, `${what} is too short`)
    .max(max, `${what} is too long`)
    .regex(/^[A-Za-z0-9_-]+=*$/, `${what} must be base64url`);

export const CreatePushSubscription = z.object({
  endpoint: z.string().min(1).max(MAX_PUSH_ENDPOINT_BYTES, "endpoint is too long"),
  keys: z.object({
    /** The browser's P-256 public key (65 bytes uncompressed → 87 base64url chars). */
    p256dh: base64url("keys.p256dh", 86, 90),
    /** The 16-byte auth secret (22 base64url chars). */
    auth: base64url("keys.auth", 22, 26),
  }),
  label: z.string().trim().min(1).max(100).optional(),
});
export type CreatePushSubscription = z.infer<typeof CreatePushSubscription>;

export const PushSubscriptionView = z.object({
  id: Id,
  /** The push service's host only (the full endpoint is a capability URL). */
  service: z.string(),
  label: z.string().nullable(),
  createdAt: z.string(),
  lastSentAt: z.string().nullable(),
  /** The last delivery's HTTP status (0: the service was unreachable), or null: none yet. */
  lastStatus: z.number().int().nullable(),
});
export type PushSubscriptionView = z.infer<typeof PushSubscriptionView>;

export const PushPreferences = z.object({
  needsInput: z.boolean(),
  finished: z.boolean(),
  failed: z.boolean(),
  deviceOffline: z.boolean(),
});
export type PushPreferences = z.infer<typeof PushPreferences>;

export const PushKeyBody = z.object({ publicKey: z.string() });
export type PushKeyBody = z.infer<typeof PushKeyBody>;
export const PushSubscriptionBody = z.object({ subscription: PushSubscriptionView });
export type PushSubscriptionBody = z.infer<typeof PushSubscriptionBody>;
export const PushSubscriptionsBody = z.object({
  subscriptions: z.array(PushSubscriptionView),
  preferences: PushPreferences,
});
export type PushSubscriptionsBody = z.infer<typeof PushSubscriptionsBody>;
export const PushPreferencesBody = z.object({ preferences: PushPreferences });
export type PushPreferencesBody = z.infer<typeof PushPreferencesBody>;

export const PushKind = z.enum(["needs_input", "finished", "failed", "device_offline"]);
export type PushKind = z.infer<typeof PushKind>;

/** What a push carries (encrypted): no prompt or reply text, only the task's title. */
export const PushPayload = z.object({
  kind: PushKind,
  taskId: Id,
  requestId: z.string().optional(),
  /** For a permission request: the notification offers Allow / Deny. */
  requestKind: z.enum(["permission", "question", "plan"]).optional(),
  title: z.string(),
  body: z.string(),
  url: z.string(),
});
export type PushPayload = z.infer<typeof PushPayload>;

/**
 * Browser → live channel: what the tab shows. A push is held back only while a tab of the
 * user is visible, focused and on that very task.
 */
export const LiveFocus = z.object({
  type: z.literal("live:focus"),
  visible: z.boolean(),
  focused: z.boolean(),
  taskId: Id.nullable(),
});
export type LiveFocus = z.infer<typeof LiveFocus>;

/** One task that waits for the user (`GET /api/attention`). */
export const AttentionItem = z.object({
  taskId: Id,
  title: z.string(),
  reason: z.enum(["needs_input", "failed", "finished"]),
  /** The device it runs on (null: the cloud). */
  deviceId: z.string().nullable(),
  target: z.enum(["device", "cloud"]),
  updatedAt: z.string(),
});
export type AttentionItem = z.infer<typeof AttentionItem>;
export const AttentionBody = z.object({ items: z.array(AttentionItem) });
export type AttentionBody = z.infer<typeof AttentionBody>;
