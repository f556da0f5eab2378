import { countingD1, type D1Count, newD1Count } from "../edge/d1-count";

/** Work one hub did, counted as Cloudflare bills it (see docs/benchmarks.md, cost). */
export interface HubMeters {
  /** HTTP requests, RPC calls and alarms (each a billed Durable Object request). */
  requests: number;
  /** WebSocket messages received (billed 20:1 as requests) and sent (not billed). */
  wsIn: number;
  wsOut: number;
  sqlRowsRead: number;
  sqlRowsWritten: number;
  d1RoundTrips: number;
  d1RowsRead: number;
  d1RowsWritten: number;
}

const MAX_PENDING_CURSORS = 10_000;
/** Saved this long after the work that was counted (so its D1 and SQLite rows are in). */
const SAVE_AFTER_MS = 1_000;
const KEY = "bench-meters";

/**
 * Counters of a hub's billable work, kept only when the deployment sets BENCH_METERS=1 (the
 * bench does); otherwise every method is a no-op and nothing is wrapped. They survive
 * hibernation in the object's key-value storage: saved a second after counted work, at most once
 * a second, by the hub's one alarm (`saveAt` is a row of its deadlines; no timer of its own), and
 * not counted themselves.
 */
export class Meter {
  readonly on: boolean;
  private readonly counts = {
    requests: 0,
    wsIn: 0,
    wsOut: 0,
    sqlRowsRead: 0,
    sqlRowsWritten: 0,
  };
  private readonly d1: D1Count = newD1Count();
  private cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  private storage: SyncKvStorage | null = null;
  /** When the counts are to be saved (epoch ms); null: nothing unsaved (or not metering). */
  private due: number | null = null;
  /** Tells the hub to set its alarm again (a save became due). */
  private reschedule: () => void = () => undefined;
  /** While set, SQLite work is the meters' own upkeep and is not counted. */
  private quiet = false;

  constructor(env: Env) {
    this.on = env.BENCH_METERS === "1";
  }

  /**
   * Carries the counts over hibernation: restores them now, saves them as they change (when the
   * hub's alarm reaches `saveAt`; `reschedule` sets the alarm again when a save becomes due).
   */
  persistIn(storage: DurableObjectStorage, reschedule: () => void): void {
    if (!this.on) return;
    this.storage = storage.kv;
    this.reschedule = reschedule;
    const saved = storage.kv.get<HubMeters>(KEY);
    if (!saved) return;
    const { d1RoundTrips, d1RowsRead, d1RowsWritten, ...counts } = saved;
    Object.assign(this.counts, counts);
    Object.assign(this.d1, {
      roundTrips: d1RoundTrips,
      rowsRead: d1RowsRead,
      rowsWritten: d1RowsWritten,
    });
  }

  request(): void {
    if (this.on) this.counts.requests += 1;
    this.dirty();
  }
  wsIn(): void {
    if (this.on) this.counts.wsIn += 1;
    this.dirty();
  }
  wsOut(n = 1): void {
    if (this.on) this.counts.wsOut += n;
  }

  /** Counted work happened: the counts are due to be saved a second later (once pending). */
  private dirty(): void {
    if (!this.storage || this.due !== null) return;
    this.due = Date.now() + SAVE_AFTER_MS;
    this.reschedule();
  }

  /** When the counts are due to be saved (null: nothing to save): a row of the hub's alarm. */
  get saveAt(): number | null {
    return this.due;
  }

  /** Saves the counts now (the alarm calls it when `saveAt` is due). */
  save(): void {
    this.due = null;
    this.storage?.put(KEY, this.snapshot());
  }

  /** Runs `fn` without counting its SQLite work (the meters' own upkeep, bench only). */
  uncounted<T>(fn: () => T): T {
    const was = this.quiet;
    this.quiet = true;
    try {
      return fn();
    } finally {
      this.quiet = was;
    }
  }

  /** The env to use: with a counting D1 when metering. */
  env(env: Env): Env {
    return this.on ? { ...env, DB: countingD1(env.DB, this.d1) } : env;
  }

  /** The SQLite API to use: counting rows written (at once) and read (as cursors are read). */
  sql(sql: SqlStorage): SqlStorage {
    if (!this.on) return sql;
    return new Proxy(sql, {
      get: (target, prop, receiver) => {
        if (prop === "exec")
          return (query: string, ...bindings: unknown[]) => {
            const cursor = target.exec(query, ...bindings);
            if (this.quiet) return cursor;
            this.counts.sqlRowsWritten += cursor.rowsWritten;
            this.cursors.push(cursor);
            if (this.cursors.length > MAX_PENDING_CURSORS) this.foldCursors();
            // Counted once the caller read it (cursors are read in the same turn), then let go:
            // a cursor kept until the next snapshot would hold its memory in every idle hub.
            if (this.cursors.length === 1) queueMicrotask(() => this.foldCursors());
            return cursor;
          };
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function"
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }

  private foldCursors(): void {
    for (const cursor of this.cursors) this.counts.sqlRowsRead += cursor.rowsRead;
    this.cursors = [];
  }

  snapshot(): HubMeters {
    this.foldCursors();
    return {
      ...this.counts,
      d1RoundTrips: this.d1.roundTrips,
      d1RowsRead: this.d1.rowsRead,
      d1RowsWritten: this.d1.rowsWritten,
    };
  }
}
