import { and, eq, type InferSelectModel } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { database } from "../../edge/db";
import { notFound } from "./errors";

/** Which row, and whose: `key = id AND owner = ownerId`. */
export interface OwnedBy {
  key: SQLiteColumn;
  id: string;
  owner: SQLiteColumn;
  ownerId: string;
}

/**
 * The row of `table` that `ownerId` owns, or 404 `not_found` ("<what> not found"). Another
 * user's row answers exactly like a missing one: its existence is never confirmed.
 */
export async function ownRow<T extends SQLiteTable>(
  d1: D1Database,
  what: string,
  table: T,
  by: OwnedBy,
): Promise<InferSelectModel<T>> {
  const row = await database(d1)
    .select()
    .from(table as SQLiteTable)
    .where(and(eq(by.key, by.id), eq(by.owner, by.ownerId)))
    .get();
  if (!row) throw notFound(what);
  return row as InferSelectModel<T>;
}
