import { CloseCode } from "@wegent/protocol";
import type { Meter } from "../meters";
import type { DeadlineHost } from "./deadlines";
import { timings } from "./deadlines";
import type { InputDesk } from "./input-desk";
import type { Presence } from "./presence";
import type { PendingRequests } from "./requests";
import type { Slots } from "./slots";
import { type ExecutorSocket, linkTo } from "./socket";
import type { HubStore } from "./store";

/** What the deadline table needs from the hub to compute its rows and fire them. */
export interface DeadlineParts {
  env: Env;
  store: HubStore;
  slots: Slots;
  presence: Presence;
  inputs: InputDesk;
  socket: WebSocket | null;
  ctx: DurableObjectState;
  /** Last frame from the current socket (the hub keeps it in memory). */
  lastFrameAt: number;
  /** The socket is gone for `reason` (closes nothing itself). */
  lost: (reason: string) => Promise<unknown>;
  /** When a kept D1 write is due again, and how to retry the due ones. */
  retryAt: number | null;
  retryWrites: () => Promise<void>;
  /** Device RPC requests in flight (their timeouts are rows of the table). */
  requests: PendingRequests;
  /** The bench's meters (their save is a row of the table). */
  meter: Meter;
}

/** The hub's state and actions as the one deadline table reads them. */
export function deadlineHost(p: DeadlineParts): DeadlineHost {
  const { slots } = p;
  const failed = (errorCode: "dispatch_timeout" | "queue_timeout", errorMessage: string) => ({
    status: "failed" as const,
    errorCode,
    errorMessage,
  });
  return {
    meta: p.store.getMeta(),
    socket: p.socket,
    slotHolders: p.store.slotHolders(),
    queue: p.store.queue(),
    timings: timings(p.env),
    lastAlive: (ws) => {
      const pong = p.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      // Any frame is a sign of life, not only pings and heartbeats.
      const opened = (ws as ExecutorSocket).state?.connectedAt ?? 0;
      const seen = p.store.getMeta().lastSeenAt ?? 0;
      return Math.max(pong, opened, seen, p.lastFrameAt);
    },
    tokenExpired: async (ws, expiresAt) => {
      ws.close(CloseCode.tokenExpired, `The API token of this device expired on ${expiresAt}.`);
      await p.lost("token expired");
    },
    pingTimedOut: async (ws) => {
      ws.close(CloseCode.pingTimeout, "No ping within the timeout.");
      await p.lost("ping timeout");
    },
    socketVanished: async () => {
      await p.lost("socket vanished");
    },
    graceExpired: () => p.presence.graceExpired(),
    dispatchTimedOut: async (ws, w) => {
      if (w.attempt < 2) slots.dispatch(linkTo(ws), w, 2);
      else {
        const message = `Device ${slots.deviceName()} did not accept the task in time.`;
        await slots.finish(w, failed("dispatch_timeout", message));
      }
    },
    cancelTimedOut: (w) =>
      slots.finish(w, { status: "cancelled", errorCode: "cancelled", errorMessage: "Cancelled." }),
    inputExpiry: p.inputs.nextExpiry(),
    inputExpired: () => p.inputs.expire(),
    retryAt: p.retryAt,
    retryWrites: p.retryWrites,
    requestExpiry: p.requests.nextExpiry(),
    requestsExpired: () => Promise.resolve(p.requests.expire()),
    metersSaveAt: p.meter.saveAt,
    saveMeters: () => Promise.resolve(p.meter.save()),
    queueTimedOut: (w) => {
      const message = `Device ${slots.deviceName()} stayed offline; the task waited too long in its queue.`;
      return slots.finish(w, failed("queue_timeout", message));
    },
  };
}
