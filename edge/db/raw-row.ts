import type { Table } from "drizzle-orm";

type Columns<T extends Table> = T["_"]["columns"];
type Stored<C extends { _: { data: unknown; notNull: boolean } }> =
  | (C["_"]["data"] extends boolean ? number : C["_"]["data"])
  | (C["_"]["notNull"] extends true ? never : null);

/**
 * A row of `T` as a raw D1 statement returns it, derived from the drizzle schema: keyed by the
 * SQL column names, a boolean column as its stored 0/1. (A JSON column's type is what drizzle
 * parses it into; raw, it is its text: pick text columns, or read those through drizzle.)
 */
export type RawRow<T extends Table> = {
  [K in keyof Columns<T> as Columns<T>[K]["_"]["name"]]: Stored<Columns<T>[K]>;
};
