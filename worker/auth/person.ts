import type { MiddlewareHandler } from "hono";
import type { AccountAction, AccountAuditEntry } from "@wegent/protocol";
import { and, desc, eq, lt } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { log } from "../../edge/log";
import { ApiError } from "../lib/errors";
import { type AppContext, type AppEnv, type AuditNote, sessionRequired } from "./identity";

// What only a person may do: the routes that hand out the power to run code on the owner's
// devices (MCP servers, skills, runtime settings and the default permission mode, approving a
// pairing, answering an agent's request) need a signed-in session. An account API token gets
// 403 `session_required`. Every attempt is one row of the owner's audit (`account_audit`).

interface AuditRow {
  ownerId: string;
  via: "session" | "token";
  viaId: string;
  action: AccountAction;
  target: string | null;
  detail: string | null;
  outcome: string;
}

const MAX_TEXT = 500;
const clip = (s: string | null) => (s === null ? null : s.slice(0, MAX_TEXT));

/** The audit kept per account: the newest rows, none older than the days. */
export const ACCOUNT_AUDIT_KEEP_ROWS = 1000;
export const ACCOUNT_AUDIT_KEEP_DAYS = 90;

/** A token's refusals are kept once a minute per token and action: a loop cannot flood it. */
async function record(db: D1Database, row: AuditRow): Promise<void> {
  // Raw SQL on purpose: INSERT … SELECT … WHERE NOT EXISTS (a token's refusal kept once a minute),
  // one statement so two refusals at once cannot both pass the check; the prune deletes by an
  // OFFSET subquery on the same table (as the command audit's).
  const prune = db
    .prepare(
      `DELETE FROM account_audit WHERE owner_id = ?1 AND (created_at < ?2
         OR id <= (SELECT id FROM account_audit WHERE owner_id = ?1
                   ORDER BY id DESC LIMIT 1 OFFSET ?3))`,
    )
    .bind(
      row.ownerId,
      new Date(Date.now() - ACCOUNT_AUDIT_KEEP_DAYS * 86_400_000).toISOString(),
      ACCOUNT_AUDIT_KEEP_ROWS,
    );
  const insert = db
    .prepare(
      `INSERT INTO account_audit (owner_id, via, via_id, action, target, detail, outcome)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
       WHERE ?2 = 'session' OR NOT EXISTS (
         SELECT 1 FROM account_audit WHERE owner_id = ?1 AND via_id = ?3 AND action = ?4
           AND created_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds'))`,
    )
    .bind(
      row.ownerId,
      row.via,
      row.viaId,
      row.action,
      clip(row.target),
      clip(row.detail),
      row.outcome,
    );
  await db.batch([insert, prune]);
}

/** Modes that let the agent act without asking: a person's choice, never a script's. */
const PERSON_MODES = new Set(["acceptEdits", "bypassPermissions"]);

/**
 * A message's own permission mode: a token may make it stricter (`default`, `plan`) or leave it
 * to the account's default (which only a person sets); asking for `acceptEdits` or
 * `bypassPermissions` is refused with 403 `session_required` and recorded.
 */
export async function checkMessageMode(c: AppContext, mode: string | undefined): Promise<void> {
  if (c.get("via").kind !== "token" || mode === undefined || !PERSON_MODES.has(mode)) return;
  await refuseToken(
    c,
    `asked for ${mode}`,
    `An API token may ask for permissionMode "default" or "plan" only: ${mode} lets the agent act without asking, a person's choice. Leave permissionMode out to use your default permission mode (set in Settings, signed in), or send the message from the web UI.`,
  );
}

/**
 * A message sent while a reply runs is taken into that reply, under the mode the reply runs
 * with. A token may not add words to a reply a person let act without asking (`acceptEdits`,
 * `bypassPermissions`): 403 `session_required`, recorded. It may send them once the reply ends.
 */
export async function checkQueuedMode(c: AppContext, replyMode: string | null): Promise<void> {
  if (c.get("via").kind !== "token" || replyMode === null || !PERSON_MODES.has(replyMode)) return;
  await refuseToken(
    c,
    `queued into a reply running in ${replyMode}`,
    `This reply runs in ${replyMode}, which lets the agent act without asking: an API token may not add to it. Send the message once the reply has ended, or from the web UI.`,
  );
}

async function refuseToken(c: AppContext, detail: string, message: string): Promise<never> {
  const via = c.get("via");
  const user = c.get("user");
  const action = "message.permission_mode";
  const tokenId = via.kind === "token" ? via.tokenId : "";
  log({ event: "person.refused", userId: user.id, tokenId, action }, "warn");
  await record(c.env.DB, {
    ownerId: user.id,
    via: "token",
    viaId: tokenId,
    action,
    target: null,
    detail,
    outcome: "session_required",
  });
  throw new ApiError(403, "session_required", message);
}

/**
 * After `requireUser()`: refuses API tokens (403 `session_required`, recorded) and records what
 * the route did with the session, with the note the route set (`c.set("audit", …)`).
 */
export function personOnly(action: AccountAction): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = c.get("user");
    const via = c.get("via");
    if (via.kind === "token") {
      log({ event: "person.refused", userId: user.id, tokenId: via.tokenId, action }, "warn");
      await record(c.env.DB, {
        ownerId: user.id,
        via: "token",
        viaId: via.tokenId,
        action,
        target: null,
        detail: null,
        outcome: "session_required",
      });
      throw sessionRequired();
    }
    await next();
    const note = c.get("audit") as AuditNote | undefined;
    const failed = c.res.status >= 400;
    const outcome = !failed
      ? "ok"
      : c.error instanceof ApiError
        ? c.error.code
        : `http_${c.res.status}`;
    await record(c.env.DB, {
      ownerId: user.id,
      via: "session",
      viaId: via.sessionId,
      action,
      target: note?.target ?? null,
      detail: note?.detail ?? null,
      outcome,
    });
  };
}

/** What a route tells the audit about the action (no secrets: names, counts, origins). */
export function auditNote(
  c: { set: (key: "audit", value: AuditNote) => void },
  target: string | null,
  detail: string | null = null,
) {
  c.set("audit", { target, detail });
}

/** Newest first; `before` is the id the previous page ended at. Owner-scoped in the WHERE. */
export async function listAccountAudit(
  db: D1Database,
  ownerId: string,
  before: number | null,
  limit: number,
): Promise<{ entries: AccountAuditEntry[]; nextCursor: string | null }> {
  const { accountAudit: a, apiTokens: t } = schema;
  const rows = await database(db)
    .select({
      id: a.id,
      createdAt: a.createdAt,
      action: a.action,
      via: a.via,
      viaId: a.viaId,
      target: a.target,
      detail: a.detail,
      outcome: a.outcome,
      tokenName: t.name,
    })
    .from(a)
    // The token's name only for a token's row, and only the owner's own token.
    .leftJoin(t, and(eq(a.via, "token"), eq(t.id, a.viaId), eq(t.userId, a.ownerId)))
    .where(and(eq(a.ownerId, ownerId), lt(a.id, before ?? Number.MAX_SAFE_INTEGER)))
    .orderBy(desc(a.id))
    .limit(limit + 1)
    .all();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    entries: page.map((r) => ({
      id: r.id,
      at: r.createdAt,
      // Written only by record() above, from an AccountAction.
      action: r.action as AccountAction,
      via: r.via,
      viaId: r.viaId,
      viaName: r.tokenName,
      target: r.target,
      detail: r.detail,
      outcome: r.outcome,
    })),
    nextCursor: rows.length > limit && last ? String(last.id) : null,
  };
}
