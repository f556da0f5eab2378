import { Hono } from "hono";
import { and, count, eq } from "drizzle-orm";
import { z } from "zod";
import {
  CreatePushSubscription,
  MAX_PUSH_SUBSCRIPTIONS,
  PushPreferences,
  type PushKeyBody,
  type PushPreferencesBody,
  type PushSubscriptionBody,
  type PushSubscriptionsBody,
  type PushSubscriptionView,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { nowIso } from "../../edge/time";
import { pushEndpointProblem, pushService } from "../../edge/push/endpoints";
import { pushPreferences } from "../../edge/push/send";
import { type AppEnv, requireUser } from "../auth/identity";
import { auditNote, personOnly } from "../auth/person";
import { ApiError, notFound } from "../lib/errors";
import { readBody, readParams } from "../lib/validate";

// Web Push: the VAPID public key, the user's browser subscriptions and which events to push.

export const pushRoutes = new Hono<AppEnv>();
pushRoutes.use("*", requireUser());

type SubscriptionRow = typeof schema.pushSubscriptions.$inferSelect;

function view(row: SubscriptionRow): PushSubscriptionView {
  return {
    id: row.id,
    service: pushService(row.endpoint),
    label: row.label,
    createdAt: row.createdAt,
    lastSentAt: row.lastSentAt,
    lastStatus: row.lastStatus,
  };
}

pushRoutes.get("/key", (c) => {
  const publicKey = c.env.VAPID_PUBLIC_KEY;
  if (!publicKey) {
    throw new ApiError(
      503,
      "push_not_configured",
      "Web Push is not set up on this server: set the VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY secrets (see README, Deploy).",
    );
  }
  return c.json({ publicKey } satisfies PushKeyBody);
});

// Where notifications go is the person's to choose: an API token (or an agent holding one)
// cannot add a push endpoint that would receive the account's questions and titles.
pushRoutes.post("/subscriptions", personOnly("push_subscription.create"), async (c) => {
  const body = await readBody(c, CreatePushSubscription);
  const problem = pushEndpointProblem(body.endpoint, c.env.PUSH_ALLOW_LOOPBACK === "1");
  if (problem) throw new ApiError(400, "push_endpoint_refused", problem);
  const userId = c.get("user").id;
  const db = database(c.env.DB);
  const existing = await db
    .select({ id: schema.pushSubscriptions.id })
    .from(schema.pushSubscriptions)
    .where(
      and(
        eq(schema.pushSubscriptions.ownerId, userId),
        eq(schema.pushSubscriptions.endpoint, body.endpoint),
      ),
    )
    .get();
  if (!existing) {
    const [mine] = await db
      .select({ n: count() })
      .from(schema.pushSubscriptions)
      .where(eq(schema.pushSubscriptions.ownerId, userId));
    if ((mine?.n ?? 0) >= MAX_PUSH_SUBSCRIPTIONS) {
      throw new ApiError(
        409,
        "too_many_subscriptions",
        `At most ${MAX_PUSH_SUBSCRIPTIONS} browsers can receive notifications: remove one in Settings → Notifications first.`,
      );
    }
  }
  const row = await db
    .insert(schema.pushSubscriptions)
    .values({
      id: existing?.id ?? crypto.randomUUID(),
      ownerId: userId,
      endpoint: body.endpoint,
      p256dh: body.keys.p256dh,
      auth: body.keys.auth,
      label: body.label ?? null,
      createdAt: nowIso(),
    })
    .onConflictDoUpdate({
      target: [schema.pushSubscriptions.ownerId, schema.pushSubscriptions.endpoint],
      set: { p256dh: body.keys.p256dh, auth: body.keys.auth, label: body.label ?? null },
    })
    .returning()
    .get();
  // The push service's name, never the endpoint URL (a capability to reach the browser).
  auditNote(c, row.id, pushService(row.endpoint));
  return c.json({ subscription: view(row) } satisfies PushSubscriptionBody, 201);
});

pushRoutes.get("/subscriptions", async (c) => {
  const userId = c.get("user").id;
  const rows = await database(c.env.DB)
    .select()
    .from(schema.pushSubscriptions)
    .where(eq(schema.pushSubscriptions.ownerId, userId))
    .orderBy(schema.pushSubscriptions.createdAt)
    .all();
  return c.json({
    subscriptions: rows.map(view),
    preferences: await pushPreferences(c.env, userId),
  } satisfies PushSubscriptionsBody);
});

pushRoutes.delete("/subscriptions/:id", personOnly("push_subscription.delete"), async (c) => {
  const { id } = readParams(c, z.object({ id: z.string().uuid("subscription id must be a UUID") }));
  const deleted = await database(c.env.DB)
    .delete(schema.pushSubscriptions)
    .where(
      and(
        eq(schema.pushSubscriptions.id, id),
        eq(schema.pushSubscriptions.ownerId, c.get("user").id),
      ),
    )
    .returning({ id: schema.pushSubscriptions.id })
    .get();
  if (!deleted) throw notFound("Push subscription");
  auditNote(c, id);
  return c.body(null, 204);
});

pushRoutes.put("/preferences", personOnly("push_preferences.update"), async (c) => {
  const body = await readBody(c, PushPreferences);
  const userId = c.get("user").id;
  const updatedAt = nowIso();
  await database(c.env.DB)
    .insert(schema.pushPreferences)
    .values({ userId, ...body, updatedAt })
    .onConflictDoUpdate({ target: schema.pushPreferences.userId, set: { ...body, updatedAt } })
    .run();
  auditNote(c, null, JSON.stringify(body));
  return c.json({ preferences: body } satisfies PushPreferencesBody);
});
