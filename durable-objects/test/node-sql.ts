import { DatabaseSync } from "node:sqlite";
import { OutputLog } from "../device-hub/output-log";
import { HubStore, type Row, type Sql, type SqlValue } from "../device-hub/store";

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

/** A hub's store and output log on a fresh SQLite, registered as device dev-1 of "owner". */
export function registeredHub(maxSlots = 2, connected = true) {
  const sql = nodeSql();
  const store = new HubStore(sql);
  const output = new OutputLog(sql);
  store.setMeta({
    ownerId: "owner",
    deviceId: "dev-1",
    name: "laptop",
    platform: "linux",
    maxSlots,
    connId: connected ? "conn-1" : null,
    registered: connected,
  });
  return { sql, store, output };
}
