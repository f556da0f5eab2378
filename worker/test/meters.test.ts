import { describe, expect, it } from "vitest";
import { Meter } from "../../durable-objects/meters";

// A SQLite stand-in whose cursors report rows read and written, as a Durable Object's do.
function countingSql(): SqlStorage {
  return {
    exec: () => ({ rowsRead: 3, rowsWritten: 2, toArray: () => [] }),
  } as unknown as SqlStorage;
}

function storage(kv: Map<string, unknown>): DurableObjectStorage {
  return {
    kv: { get: (k: string) => kv.get(k), put: (k: string, v: unknown) => kv.set(k, v) },
  } as unknown as DurableObjectStorage;
}

describe("the bench's meters", () => {
  it("count nothing and never ask for an alarm unless BENCH_METERS=1", () => {
    const meter = new Meter({} as Env);
    let rescheduled = 0;
    meter.persistIn(storage(new Map()), () => (rescheduled += 1));
    meter.request();
    meter.wsIn();
    expect(meter.saveAt).toBeNull();
    expect(rescheduled).toBe(0);
    expect(meter.snapshot().requests).toBe(0);
  });

  it("ask the hub's alarm for one save a second after counted work, and survive a restart", () => {
    const kv = new Map<string, unknown>();
    const meter = new Meter({ BENCH_METERS: "1" } as unknown as Env);
    let rescheduled = 0;
    meter.persistIn(storage(kv), () => (rescheduled += 1));
    const now = Date.now();
    meter.request();
    meter.request();
    expect(rescheduled).toBe(1);
    expect(meter.saveAt).toBeGreaterThanOrEqual(now + 1_000);
    expect(meter.saveAt).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(kv.size).toBe(0);
    meter.save();
    expect(meter.saveAt).toBeNull();
    const again = new Meter({ BENCH_METERS: "1" } as unknown as Env);
    again.persistIn(storage(kv), () => undefined);
    expect(again.snapshot().requests).toBe(2);
  });

  it("do not count the SQLite work of their own upkeep", async () => {
    const meter = new Meter({ BENCH_METERS: "1" } as unknown as Env);
    const sql = meter.sql(countingSql());
    sql.exec("SELECT 1");
    meter.uncounted(() => sql.exec("SELECT 2"));
    await Promise.resolve();
    expect(meter.snapshot()).toMatchObject({ sqlRowsRead: 3, sqlRowsWritten: 2 });
  });
});
