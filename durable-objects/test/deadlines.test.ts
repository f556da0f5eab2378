import { describe, expect, it } from "vitest";
import { type DeadlineHost, deadlineTable, nextAlarm, timings } from "../device-hub/deadlines";
import { PendingRequests } from "../device-hub/requests";
import { HubStore, type Work } from "../device-hub/store";
import { nodeSql } from "./node-sql";

const t = timings({ DEVICE_GRACE_SECONDS: "15", DISPATCH_TIMEOUT_SECONDS: "10" });
const noop = async () => {};
const socket = {} as WebSocket;

function host(patch: Partial<DeadlineHost>): DeadlineHost {
  const meta = new HubStore(nodeSql()).getMeta();
  return {
    meta,
    socket: null,
    slotHolders: [],
    queue: [],
    timings: t,
    lastAlive: () => 1_000,
    tokenExpired: noop,
    pingTimedOut: noop,
    socketVanished: noop,
    graceExpired: noop,
    dispatchTimedOut: noop,
    cancelTimedOut: noop,
    queueTimedOut: noop,
    inputExpiry: null,
    inputExpired: noop,
    retryAt: null,
    retryWrites: noop,
    requestExpiry: null,
    requestsExpired: noop,
    metersSaveAt: null,
    saveMeters: noop,
    ...patch,
  };
}

const work = (patch: Partial<Work>): Work => ({
  messageId: "m",
  taskId: "t",
  ownerId: "o",
  prompt: "p",
  resumeSessionId: null,
  projectId: null,
  permissionMode: "bypassPermissions",
  state: "queued",
  queuedAt: 0,
  dispatchedAt: null,
  attempt: 0,
  cancelRequestedAt: null,
  lastSeq: 0,
  ...patch,
});

describe("the deadline table (one list for scheduling and firing)", () => {
  it("has no entry and no alarm for an idle, offline device", () => {
    expect(deadlineTable(host({}))).toEqual([]);
    expect(nextAlarm([], 0)).toBeNull();
  });

  it("watches a connected socket's pings, its token, and an unaccepted dispatch", () => {
    const base = host({}).meta;
    const table = deadlineTable(
      host({
        socket,
        meta: {
          ...base,
          connId: "c",
          registered: true,
          tokenExpiresAt: new Date(90_000).toISOString(),
        },
        slotHolders: [work({ state: "dispatched", dispatchedAt: 2_000 })],
      }),
    );
    expect(table.map((d) => [d.name, d.at])).toEqual([
      ["token", 90_000],
      ["ping", 1_000 + 25_000],
      ["dispatch", 2_000 + 10_000],
    ]);
    expect(nextAlarm(table, 0)).toBe(12_000);
    expect(nextAlarm(table, 50_000)).toBe(50_010);
  });

  it("after a disconnect: the grace, cancel timeouts, and the queue waiting since offline", () => {
    const base = host({}).meta;
    const table = deadlineTable(
      host({
        meta: { ...base, disconnectedAt: 5_000, offlineSince: null },
        slotHolders: [
          work({ state: "dispatched", dispatchedAt: 1 }),
          work({ state: "cancelling", cancelRequestedAt: 3_000 }),
        ],
        queue: [work({ queuedAt: 1_000 }), work({ queuedAt: 9_000 })],
      }),
    );
    expect(table.map((d) => [d.name, d.at])).toEqual([
      ["grace", 20_000],
      ["cancel", 8_000],
      ["queue", 5_000 + 600_000],
      ["queue", 9_000 + 600_000],
    ]);
  });

  it("repairs a socket that vanished without a close event at once", () => {
    const base = host({}).meta;
    const table = deadlineTable(host({ meta: { ...base, connId: "gone" } }));
    expect(table.map((d) => d.name)).toEqual(["vanished"]);
    expect(nextAlarm(table, 100)).toBe(110);
  });

  it("ends a device request that got no answer by the alarm, not by a timer of its own", async () => {
    const requests = new PendingRequests();
    const answer = requests.wait("r1", 30_000, 1_000);
    requests.wait("r2", 60_000, 1_000).catch(() => {});
    const table = () =>
      deadlineTable(
        host({
          requestExpiry: requests.nextExpiry(),
          requestsExpired: () => Promise.resolve(requests.expire(31_000)),
        }),
      );
    expect(table().map((d) => [d.name, d.at])).toEqual([["request", 31_000]]);
    await table()[0]!.fire();
    expect(await answer).toEqual({
      ok: false,
      code: "timeout",
      message: "The device did not answer within 30 s.",
    });
    // The other one waits on; once answered it leaves the table.
    expect(table().map((d) => [d.name, d.at])).toEqual([["request", 61_000]]);
    requests.settle({ type: "device:response", requestId: "r2", ok: true, result: 1 });
    expect(table()).toEqual([]);
  });

  it("saves the bench's meters by the alarm, a row like any other (no timer)", async () => {
    let saveAt: number | null = 4_000;
    const table = () =>
      deadlineTable(
        host({
          metersSaveAt: saveAt,
          saveMeters: () => {
            saveAt = null;
            return Promise.resolve();
          },
        }),
      );
    expect(table().map((d) => [d.name, d.at])).toEqual([["meters", 4_000]]);
    expect(nextAlarm(table(), 0)).toBe(4_000);
    await table()[0]!.fire();
    expect(table()).toEqual([]);
  });
});
