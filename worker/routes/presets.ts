import { Hono } from "hono";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import {
  CreatePreset,
  MAX_PRESETS,
  type Preset,
  type PresetBody,
  type PresetsBody,
  UpdatePreset,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, requireUser } from "../auth/identity";
import { ApiError } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { nowIso } from "../../edge/time";
import { readBody, readParams } from "../lib/validate";

export const presetRoutes = new Hono<AppEnv>();
presetRoutes.use("*", requireUser());

const PresetPath = z.object({ id: z.string().uuid("preset id must be a UUID") });
type PresetRow = typeof schema.presets.$inferSelect;

function toPreset(row: PresetRow): Preset {
  return {
    id: row.id,
    title: row.title,
    text: row.text,
    deviceId: row.deviceId,
    project: row.project,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function ownPreset(d1: D1Database, ownerId: string, id: string) {
  return ownRow(d1, "preset", schema.presets, {
    key: schema.presets.id,
    id,
    owner: schema.presets.ownerId,
    ownerId,
  });
}

presetRoutes.get("/", async (c) => {
  const rows = await database(c.env.DB)
    .select()
    .from(schema.presets)
    .where(eq(schema.presets.ownerId, c.get("user").id))
    .orderBy(asc(schema.presets.createdAt), asc(schema.presets.id))
    .all();
  return c.json({ presets: rows.map(toPreset) } satisfies PresetsBody);
});

presetRoutes.post("/", async (c) => {
  const body = await readBody(c, CreatePreset);
  const ownerId = c.get("user").id;
  const id = crypto.randomUUID();
  const now = nowIso();
  // Raw on purpose: one INSERT … SELECT … WHERE count < max, so the count and the insert cannot
  // be split by a concurrent create (drizzle would make it a read, then a write).
  const inserted = await c.env.DB.prepare(
    `INSERT INTO presets (id, owner_id, title, text, device_id, project, created_at, updated_at)
     SELECT ?, ?, ?, ?, ?, ?, ?, ?
     WHERE (SELECT COUNT(*) FROM presets WHERE owner_id = ?) < ?`,
  )
    .bind(
      id,
      ownerId,
      body.title,
      body.text,
      body.deviceId ?? null,
      body.project ?? null,
      now,
      now,
      ownerId,
      MAX_PRESETS,
    )
    .run();
  if (inserted.meta.changes !== 1) {
    throw new ApiError(
      409,
      "too_many_presets",
      `You can keep at most ${MAX_PRESETS} presets. Delete one first.`,
    );
  }
  return c.json(
    { preset: toPreset(await ownPreset(c.env.DB, ownerId, id)) } satisfies PresetBody,
    201,
  );
});

presetRoutes.patch("/:id", async (c) => {
  const { id } = readParams(c, PresetPath);
  const body = await readBody(c, UpdatePreset);
  const ownerId = c.get("user").id;
  const db = database(c.env.DB);
  await ownPreset(c.env.DB, ownerId, id);
  await db
    .update(schema.presets)
    .set({ ...body, updatedAt: nowIso() })
    .where(and(eq(schema.presets.id, id), eq(schema.presets.ownerId, ownerId)))
    .run();
  return c.json({ preset: toPreset(await ownPreset(c.env.DB, ownerId, id)) } satisfies PresetBody);
});

presetRoutes.delete("/:id", async (c) => {
  const { id } = readParams(c, PresetPath);
  const ownerId = c.get("user").id;
  const db = database(c.env.DB);
  await ownPreset(c.env.DB, ownerId, id);
  await db
    .delete(schema.presets)
    .where(and(eq(schema.presets.id, id), eq(schema.presets.ownerId, ownerId)))
    .run();
  return c.json({ ok: true });
});
