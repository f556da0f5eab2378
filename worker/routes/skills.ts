import { Hono } from "hono";
import { and, asc, count, eq } from "drizzle-orm";
import { z } from "zod";
import {
  MAX_SKILLS,
  MAX_SKILL_ZIP_BYTES,
  SetEnabled,
  type Skill,
  type SkillBody,
  type SkillsBody,
} from "@wegent/protocol";
import { database, schema } from "../../edge/db";
import { type AppEnv, bearerToken, requireUser } from "../auth/identity";
import { auditNote, personOnly } from "../auth/person";
import { ApiError, notFound } from "../lib/errors";
import { ownRow } from "../lib/own-row";
import { nowIso } from "../../edge/time";
import { readBody, readParams } from "../lib/validate";
import { parseSkillZip, toBundle } from "../capabilities/skill-archive";
import { checkSkillLinkToken, skillKey } from "../../durable-objects/capabilities";
import { capabilitiesChanged } from "../capabilities/push";
import { ZipError } from "../capabilities/zip";

type SkillRow = typeof schema.skills.$inferSelect;

function toSkill(row: SkillRow): Skill {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    size: row.size,
    sha256: row.sha256,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

async function sha256OfBytes(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads the request body, refusing (413) as soon as it passes `max` bytes. */
async function readCapped(request: Request, max: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  const tooBig = () => new ApiError(413, "too_large", `A skill zip may be at most ${max} bytes.`);
  if (declared > max) throw tooBig();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

const SkillPath = z.object({ id: z.string().uuid("skill id must be a UUID") });

/** Devices download a skill with the signed link of their `device:capabilities` frame. */
export const skillBundleRoutes = new Hono<AppEnv>();

skillBundleRoutes.get("/:id/bundle", async (c) => {
  const { id } = readParams(c, SkillPath);
  const token = bearerToken(c.req.header("Authorization"));
  const bad = () => new ApiError(403, "bad_link", "This skill download token is not valid.");
  if (!token) throw bad();
  const row = await database(c.env.DB)
    .select()
    .from(schema.skills)
    .where(eq(schema.skills.id, id))
    .get();
  // An unknown skill and a wrong token answer alike: nothing is told about other users' skills.
  if (!row) throw bad();
  const verdict = await checkSkillLinkToken(c.env.JWT_SECRET, token, {
    ownerId: row.ownerId,
    skillId: row.id,
    sha256: row.sha256,
  });
  if (verdict === "bad") throw bad();
  if (verdict === "expired") {
    throw new ApiError(
      410,
      "link_expired",
      "This skill download token expired; the device gets a new one when it reconnects.",
    );
  }
  const object = await c.env.ARCHIVES.get(skillKey(row.ownerId, row.id));
  if (!object) throw notFound("skill archive");
  const parsed = await parseSkillZip(new Uint8Array(await object.arrayBuffer()));
  return c.json(toBundle(parsed));
});

export const skillRoutes = new Hono<AppEnv>();
skillRoutes.use("*", requireUser());

skillRoutes.get("/", async (c) => {
  const rows = await database(c.env.DB)
    .select()
    .from(schema.skills)
    .where(eq(schema.skills.ownerId, c.get("user").id))
    .orderBy(asc(schema.skills.name))
    .all();
  return c.json({ skills: rows.map(toSkill) } satisfies SkillsBody);
});

/** The zip is the body. A skill with the same name is replaced (same id, same switch). */
// Uploading, switching or removing a skill defines what every device's agent runs: a person's act.
skillRoutes.post("/", personOnly("skill.upload"), async (c) => {
  const user = c.get("user");
  const bytes = await readCapped(c.req.raw, MAX_SKILL_ZIP_BYTES);
  if (bytes.length === 0) throw new ApiError(400, "bad_zip", "Send the skill's zip as the body.");
  let parsed;
  try {
    parsed = await parseSkillZip(bytes);
  } catch (error) {
    if (error instanceof ZipError) {
      const status = error.code === "too_large" || error.code === "too_many_files" ? 413 : 400;
      throw new ApiError(status, error.code, error.message);
    }
    throw error;
  }
  auditNote(c, parsed.name, `${bytes.length} bytes`);
  const db = database(c.env.DB);
  const existing = await db
    .select()
    .from(schema.skills)
    .where(and(eq(schema.skills.ownerId, user.id), eq(schema.skills.name, parsed.name)))
    .get();
  if (!existing) {
    const [total] = await db
      .select({ n: count() })
      .from(schema.skills)
      .where(eq(schema.skills.ownerId, user.id))
      .all();
    if ((total?.n ?? 0) >= MAX_SKILLS) {
      throw new ApiError(409, "too_many_skills", `You can keep at most ${MAX_SKILLS} skills.`);
    }
  }
  const id = existing?.id ?? crypto.randomUUID();
  const sha256 = await sha256OfBytes(bytes);
  await c.env.ARCHIVES.put(skillKey(user.id, id), bytes, {
    httpMetadata: { contentType: "application/zip" },
  });
  const now = nowIso();
  const values = {
    name: parsed.name,
    description: parsed.description,
    size: bytes.length,
    sha256,
    updatedAt: now,
  };
  if (existing) {
    await db.update(schema.skills).set(values).where(eq(schema.skills.id, id)).run();
  } else {
    await db
      .insert(schema.skills)
      .values({ id, ownerId: user.id, enabled: true, ...values })
      .run();
  }
  const row = await db.select().from(schema.skills).where(eq(schema.skills.id, id)).get();
  if (!row) throw notFound("skill");
  await capabilitiesChanged(c.env, user.id);
  return c.json({ skill: toSkill(row) } satisfies SkillBody, existing ? 200 : 201);
});

function ownSkill(env: AppEnv["Bindings"], ownerId: string, id: string) {
  return ownRow(env.DB, "skill", schema.skills, {
    key: schema.skills.id,
    id,
    owner: schema.skills.ownerId,
    ownerId,
  });
}

skillRoutes.patch("/:id", personOnly("skill.update"), async (c) => {
  const { id } = readParams(c, SkillPath);
  const { enabled } = await readBody(c, SetEnabled);
  const user = c.get("user");
  auditNote(c, id, `enabled ${enabled}`);
  auditNote(c, (await ownSkill(c.env, user.id, id)).name, `enabled ${enabled}`);
  await database(c.env.DB)
    .update(schema.skills)
    .set({ enabled, updatedAt: nowIso() })
    .where(and(eq(schema.skills.id, id), eq(schema.skills.ownerId, user.id)))
    .run();
  await capabilitiesChanged(c.env, user.id);
  return c.json({ skill: toSkill(await ownSkill(c.env, user.id, id)) } satisfies SkillBody);
});

skillRoutes.delete("/:id", personOnly("skill.delete"), async (c) => {
  const { id } = readParams(c, SkillPath);
  const user = c.get("user");
  auditNote(c, id);
  auditNote(c, (await ownSkill(c.env, user.id, id)).name);
  await database(c.env.DB)
    .delete(schema.skills)
    .where(and(eq(schema.skills.id, id), eq(schema.skills.ownerId, user.id)))
    .run();
  await c.env.ARCHIVES.delete(skillKey(user.id, id));
  await capabilitiesChanged(c.env, user.id);
  return c.json({ ok: true });
});
