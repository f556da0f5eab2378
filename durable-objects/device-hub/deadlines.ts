import { seconds } from "../../edge/time";
import type { DeviceMeta, Work } from "./store";

const CANCEL_TIMEOUT_MS = 5_000;

export interface Timings {
  graceMs: number;
  pingTimeoutMs: number;
  queueTimeoutMs: number;
  dispatchTimeoutMs: number;
  cancelTimeoutMs: number;
  /** How long a request for the user's input waits before it is denied. */
  inputTimeoutMs: number;
}

type TimingVars = Partial<
  Record<
    | "DEVICE_GRACE_SECONDS"
    | "PING_TIMEOUT_SECONDS"
    | "QUEUE_TIMEOUT_SECONDS"
    | "DISPATCH_TIMEOUT_SECONDS"
    | "INPUT_TIMEOUT_SECONDS",
    string
  >
>;

/** The hub's timings, from `wrangler.toml` [vars]. */
export function timings(env: TimingVars): Timings {
  return {
    graceMs: seconds(env.DEVICE_GRACE_SECONDS, 15) * 1000,
    pingTimeoutMs: seconds(env.PING_TIMEOUT_SECONDS, 25) * 1000,
    queueTimeoutMs: seconds(env.QUEUE_TIMEOUT_SECONDS, 600) * 1000,
    dispatchTimeoutMs: seconds(env.DISPATCH_TIMEOUT_SECONDS, 10) * 1000,
    cancelTimeoutMs: CANCEL_TIMEOUT_MS,
    inputTimeoutMs: seconds(env.INPUT_TIMEOUT_SECONDS, 600) * 1000,
  };
}

/** What the table reads (the hub's state now) and what its entries do when they fire. */
export interface DeadlineHost {
  meta: DeviceMeta;
  /** The current executor socket, if open. */
  socket: WebSocket | null;
  slotHolders: Work[];
  queue: Work[];
  timings: Timings;
  /** Last sign of life on the socket (auto-answered ping, any frame, or its opening). */
  lastAlive(ws: WebSocket): number;
  tokenExpired(ws: WebSocket, expiresAt: string): Promise<void>;
  pingTimedOut(ws: WebSocket): Promise<void>;
  socketVanished(): Promise<void>;
  graceExpired(): Promise<void>;
  dispatchTimedOut(ws: WebSocket, w: Work): Promise<void>;
  cancelTimedOut(w: Work): Promise<void>;
  queueTimedOut(w: Work): Promise<void>;
  /** The earliest expiry of an open request for the user's input, if any. */
  inputExpiry: number | null;
  inputExpired(): Promise<void>;
  /** When a kept D1 write (pending-writes.ts) is due again, if any. */
  retryAt: number | null;
  /** Tries the due kept writes again; each is dropped or moved into the future. */
  retryWrites(): Promise<void>;
  /** The earliest expiry of a device RPC request in flight (requests.ts), if any. */
  requestExpiry: number | null;
  /** Ends every due device RPC request with `timeout`. */
  requestsExpired(): Promise<void>;
  /** When the bench's meters are due to be saved (meters.ts; null: not metering, or saved). */
  metersSaveAt: number | null;
  saveMeters(): Promise<void>;
}

export interface Deadline {
  name:
    | "token"
    | "ping"
    | "vanished"
    | "grace"
    | "dispatch"
    | "cancel"
    | "queue"
    | "input"
    | "d1_retry"
    | "request"
    | "meters";
  at: number;
  fire: () => Promise<void>;
}

/**
 * Every timer of a device, as one table computed from its state. Scheduling sets the one alarm to
 * the earliest entry; the alarm fires the due entries in this order, recomputing the table after
 * each (a fired entry changes the state, so it leaves the table or moves into the future).
 */
export function deadlineTable(h: DeadlineHost): Deadline[] {
  const { meta, socket: ws, timings: t } = h;
  const table: Deadline[] = [];
  if (ws) {
    const expiresAt = meta.tokenExpiresAt;
    const tokenExpiry = expiresAt ? Date.parse(expiresAt) : NaN;
    // A socket never outlives its token: the executor stops and says to generate a new one.
    if (expiresAt && Number.isFinite(tokenExpiry)) {
      table.push({ name: "token", at: tokenExpiry, fire: () => h.tokenExpired(ws, expiresAt) });
    }
    table.push({
      name: "ping",
      at: h.lastAlive(ws) + t.pingTimeoutMs,
      fire: () => h.pingTimedOut(ws),
    });
  } else if (meta.connId) {
    table.push({ name: "vanished", at: 0, fire: () => h.socketVanished() });
  }
  if (!ws && meta.disconnectedAt !== null) {
    table.push({
      name: "grace",
      at: meta.disconnectedAt + t.graceMs,
      fire: () => h.graceExpired(),
    });
  }
  for (const w of h.slotHolders) {
    if (ws && w.state === "dispatched" && w.dispatchedAt !== null) {
      const at = w.dispatchedAt + t.dispatchTimeoutMs;
      table.push({ name: "dispatch", at, fire: () => h.dispatchTimedOut(ws, w) });
    }
    if (w.state === "cancelling" && w.cancelRequestedAt !== null) {
      const at = w.cancelRequestedAt + t.cancelTimeoutMs;
      table.push({ name: "cancel", at, fire: () => h.cancelTimedOut(w) });
    }
  }
  if (!(ws && meta.registered)) {
    const since = meta.offlineSince ?? meta.disconnectedAt;
    for (const q of h.queue) {
      const at = Math.max(q.queuedAt, since ?? q.queuedAt) + t.queueTimeoutMs;
      table.push({ name: "queue", at, fire: () => h.queueTimedOut(q) });
    }
  }
  if (h.inputExpiry !== null) {
    table.push({ name: "input", at: h.inputExpiry, fire: () => h.inputExpired() });
  }
  if (h.retryAt !== null) {
    table.push({ name: "d1_retry", at: h.retryAt, fire: () => h.retryWrites() });
  }
  if (h.requestExpiry !== null) {
    table.push({ name: "request", at: h.requestExpiry, fire: () => h.requestsExpired() });
  }
  if (h.metersSaveAt !== null) {
    table.push({ name: "meters", at: h.metersSaveAt, fire: () => h.saveMeters() });
  }
  return table;
}

/** When the alarm should ring for this table (null: no alarm). Never in the past. */
export function nextAlarm(table: Deadline[], now: number): number | null {
  if (table.length === 0) return null;
  return Math.max(Math.min(...table.map((d) => d.at)), now + 10);
}
