import { Hono } from "hono";
import { z } from "zod";
import type { AccountAuditPage } from "@wegent/protocol";
import { type AppEnv, requireUser } from "../auth/identity";
import { listAccountAudit } from "../auth/person";
import { readQuery } from "../lib/validate";

// `GET /api/audit`: the owner's record of what only a person may do (see worker/auth/person.ts).
// Reading it is allowed to API tokens too.

export const accountAuditRoutes = new Hono<AppEnv>();
accountAuditRoutes.use("*", requireUser());

const AuditQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "cursor is an entry id")
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

accountAuditRoutes.get("/", async (c) => {
  const { cursor, limit } = readQuery(c, AuditQuery);
  const page = await listAccountAudit(
    c.env.DB,
    c.get("user").id,
    cursor ? Number(cursor) : null,
    limit,
  );
  return c.json(page satisfies AccountAuditPage);
});
