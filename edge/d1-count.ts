// Counting D1 work, for the bench's round-trip and cost figures (BENCH_METERS=1 only).

/** Round trips to D1 and the rows D1 reported reading and writing (where it reports them). */
export interface D1Count {
  roundTrips: number;
  rowsRead: number;
  rowsWritten: number;
}

export const newD1Count = (): D1Count => ({ roundTrips: 0, rowsRead: 0, rowsWritten: 0 });

function addMeta(count: D1Count, result: unknown): void {
  const meta = (result as { meta?: { rows_read?: number; rows_written?: number } } | null)?.meta;
  count.rowsRead += meta?.rows_read ?? 0;
  count.rowsWritten += meta?.rows_written ?? 0;
}

/**
 * Counts round trips to D1 (each statement run, each batch). D1 checks that batched statements
 * are its own objects, so the statements keep their identity and are only counted when run.
 */
export function countingD1(db: D1Database, count: D1Count): D1Database {
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "bind")
          return (...args: unknown[]) => wrapStatement(target.bind(...args) as D1PreparedStatement);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
          return (...args: unknown[]) => {
            count.roundTrips += 1;
            const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            return result.then((r) => {
              addMeta(count, r);
              return r;
            });
          };
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    originals.set(wrapped, statement);
    return wrapped;
  };
  const prepare = (query: string) => wrapStatement(db.prepare(query));
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "prepare") return prepare;
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          count.roundTrips += 1;
          return target.batch(statements.map((s) => unwrap(s))).then((results) => {
            for (const r of results) addMeta(count, r);
            return results;
          });
        };
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function"
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  function unwrap(statement: D1PreparedStatement): D1PreparedStatement {
    return originals.get(statement) ?? statement;
  }
}
