import { Hono } from "hono";
import { and, desc, eq, gt, inArray, isNull, or } from "drizzle-orm";
import { z } from "zod";
import type { AttentionBody, AttentionItem } from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { nowIso } from "../../edge/time";
import { type AppEnv, requireUser } from "../auth/identity";
import { readParams } from "../lib/validate";
import { ownTask } from "./tasks";

// One inbox across devices and the cloud: what waits for the user (open requests first, then
// failed and finished replies not seen since they ended), and marking a task seen.

/** Replies older than this are not news any more, seen or not. */
const NEWS_DAYS = 7;
const MAX_ITEMS = 100;

export const attentionRoutes = new Hono<AppEnv>();
attentionRoutes.use("*", requireUser());

const RANK: Record<AttentionItem["reason"], number> = { needs_input: 0, failed: 1, finished: 2 };

attentionRoutes.get("/", async (c) => {
  const userId = c.get("user").id;
  const since = new Date(Date.now() - NEWS_DAYS * 86_400_000).toISOString();
  const t = schema.tasks;
  const seen = schema.taskSeen;
  const rows = await database(c.env.DB)
    .select({
      taskId: t.id,
      title: t.title,
      status: t.status,
      target: t.target,
      deviceId: t.deviceId,
      updatedAt: t.updatedAt,
    })
    .from(t)
    .leftJoin(seen, and(eq(seen.taskId, t.id), eq(seen.ownerId, userId)))
    .where(
      and(
        eq(t.ownerId, userId),
        or(
          eq(t.status, "waiting_input"),
          and(
            inArray(t.status, ["failed", "completed"]),
            gt(t.updatedAt, since),
            or(isNull(seen.seenAt), gt(t.updatedAt, seen.seenAt)),
          ),
        ),
      ),
    )
    .orderBy(desc(t.updatedAt))
    .limit(MAX_ITEMS)
    .all();
  const items: AttentionItem[] = rows.map((r) => ({
    taskId: r.taskId,
    title: r.title,
    reason:
      r.status === "waiting_input" ? "needs_input" : r.status === "failed" ? "failed" : "finished",
    deviceId: r.target === "cloud" ? null : r.deviceId,
    target: r.target,
    updatedAt: r.updatedAt,
  }));
  items.sort((a, b) => RANK[a.reason] - RANK[b.reason]);
  return c.json({ items } satisfies AttentionBody);
});

export const taskSeenRoutes = new Hono<AppEnv>();
taskSeenRoutes.use("*", requireUser());

taskSeenRoutes.post("/:id/seen", async (c) => {
  const { id } = readParams(c, z.object({ id: z.string().uuid("task id must be a UUID") }));
  const userId = c.get("user").id;
  await ownTask(c.env, userId, id);
  const seenAt = nowIso();
  await database(c.env.DB)
    .insert(schema.taskSeen)
    .values({ ownerId: userId, taskId: id, seenAt })
    .onConflictDoUpdate({
      target: [schema.taskSeen.ownerId, schema.taskSeen.taskId],
      set: { seenAt },
    })
    .run();
  return c.body(null, 204);
});
