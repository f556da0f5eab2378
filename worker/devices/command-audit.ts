import { and, desc, eq, getTableColumns, lt } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import {
  type CommandAuditEntry,
  type CommandResult,
  MAX_CONCURRENT_COMMANDS,
} from "@wegent/protocol";

// The audit of the command RPC in D1, and the per-device limit of commands at once. A command
// is recorded as `running` before it is sent; the insert only happens while fewer than
// MAX_CONCURRENT_COMMANDS unexpired `running` rows exist for the device. D1 runs one statement
// at a time, so the check and the insert cannot interleave with another request's.

/** SHA-256 (hex) of the args as canonical JSON (keys sorted), so equal args give equal digests. */
export async function argsDigest(args: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(args));
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export interface AuditStart {
  ownerId: string;
  deviceId: string;
  userId: string;
  key: string;
  taskId: string | null;
  digest: string;
  /** How long the Worker will wait for the answer; the row stops counting after that. */
  waitMs: number;
}

/** The audit kept per device: the newest rows, none older than the days (docs/commands.md). */
export const AUDIT_KEEP_ROWS = 1000;
export const AUDIT_KEEP_DAYS = 90;

/**
 * Records a command as running; null when the device already runs the most it may. The same
 * batch prunes the device's audit to AUDIT_KEEP_ROWS rows and AUDIT_KEEP_DAYS days.
 */
export async function startCommand(db: D1Database, start: AuditStart): Promise<number | null> {
  const now = Date.now();
  const cutoff = new Date(now - AUDIT_KEEP_DAYS * 24 * 60 * 60 * 1000).toISOString();
  // Raw SQL on purpose: the prune deletes by an OFFSET subquery on the same table and the insert
  // is conditional on a COUNT (INSERT … SELECT … WHERE … RETURNING): one statement each, in one
  // batch, so the limit check and the insert cannot interleave with another request's.
  const prune = db
    .prepare(
      `DELETE FROM command_audit WHERE owner_id = ?1 AND device_id = ?2 AND (created_at < ?3
         OR id <= (SELECT id FROM command_audit WHERE owner_id = ?1 AND device_id = ?2
                   ORDER BY id DESC LIMIT 1 OFFSET ?4))`,
    )
    .bind(start.ownerId, start.deviceId, cutoff, AUDIT_KEEP_ROWS);
  const insert = db
    .prepare(
      `INSERT INTO command_audit (owner_id, device_id, user_id, key, task_id, args_digest, outcome, expires_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7
       WHERE (SELECT COUNT(*) FROM command_audit
              WHERE owner_id = ?1 AND device_id = ?2 AND outcome = 'running' AND expires_at > ?8) < ?9
       RETURNING id`,
    )
    .bind(
      start.ownerId,
      start.deviceId,
      start.userId,
      start.key,
      start.taskId,
      start.digest,
      now + start.waitMs + 5000,
      now,
      MAX_CONCURRENT_COMMANDS,
    );
  const [inserted] = await db.batch<{ id: number }>([insert, prune]);
  return inserted?.results[0]?.id ?? null;
}

export type AuditOutcome = "ok" | "refused" | "offline" | "timeout" | "error";

export async function finishCommand(
  db: D1Database,
  id: number,
  outcome: AuditOutcome,
  result: CommandResult | null,
  durationMs: number,
): Promise<void> {
  const encoder = new TextEncoder();
  const bytes = result
    ? encoder.encode(result.stdout).length + encoder.encode(result.stderr).length
    : null;
  await database(db)
    .update(schema.commandAudit)
    .set({
      outcome,
      exitCode: result?.exitCode ?? null,
      durationMs: result?.durationMs ?? durationMs,
      bytes,
    })
    .where(eq(schema.commandAudit.id, id))
    .run();
}

/** Newest first; `before` is the id the previous page ended at. */
export async function listAudit(
  db: D1Database,
  ownerId: string,
  deviceId: string,
  before: number | null,
  limit: number,
): Promise<{ entries: CommandAuditEntry[]; nextCursor: string | null }> {
  const a = schema.commandAudit;
  const rows = await database(db)
    .select({ ...getTableColumns(a), username: schema.users.username })
    .from(a)
    .leftJoin(schema.users, eq(schema.users.id, a.userId))
    .where(
      and(
        eq(a.ownerId, ownerId),
        eq(a.deviceId, deviceId),
        lt(a.id, before ?? Number.MAX_SAFE_INTEGER),
      ),
    )
    .orderBy(desc(a.id))
    .limit(limit + 1)
    .all();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    entries: page.map((r) => ({
      id: r.id,
      at: r.createdAt,
      userId: r.userId,
      username: r.username,
      deviceId: r.deviceId,
      key: r.key,
      taskId: r.taskId,
      argsDigest: r.argsDigest,
      outcome: r.outcome,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      bytes: r.bytes,
    })),
    nextCursor: rows.length > limit && last ? String(last.id) : null,
  };
}
