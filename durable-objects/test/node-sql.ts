import { DatabaseSync } from "node:sqlite";
import type { Row, Sql, SqlValue } from "../device-hub/store";

/**
 * A real SQLite (Node's `node:sqlite`, in memory) behind the hub's `Sql` interface, so the hub's
 * store, output log and slots run on Node exactly as they do on a Durable Object's SQLite.
 */
export function nodeSql(): Sql {
  const db = new DatabaseSync(":memory:");
  return {
    exec(query: string, ...bindings: SqlValue[]) {
      // A script of several statements (the schema, clearAll) runs as one.
      if (bindings.length === 0 && /;\s*\S/.test(query.trim())) {
        db.exec(query);
        const none: Row[] = [];
        return Object.assign(none, { toArray: () => none });
      }
      const rows = db
        .prepare(query)
        .all(...bindings.map((b) => (b instanceof ArrayBuffer ? new Uint8Array(b) : b))) as Row[];
      return Object.assign(rows, { toArray: () => rows });
    },
  };
}
