import type { DeviceRequestErrorCode, DeviceResponse } from "@wegent/protocol";

/** What a DeviceHub answers for one device request. */
export type DeviceAnswer =
  | { ok: true; result: unknown }
  | { ok: false; code: DeviceRequestErrorCode | "device_offline" | "timeout"; message: string };

/** Requests in flight at most per device: a flood of them must not pile up in the hub. */
export const MAX_PENDING_REQUESTS = 32;

/** Longest a request may wait: a command may run 600 s, plus 10 s for its answer. */
export const MAX_DEVICE_REQUEST_MS = 610_000;

interface Waiting {
  resolve(answer: DeviceAnswer): void;
  /** When it times out (epoch ms): a row of the hub's deadline table ("request"). */
  expiresAt: number;
  timeoutMs: number;
}

/**
 * The hub's side of the generic device RPC, every method alike (commands, sessions, messages
 * for a running reply, workspace archives): requests waiting for their `device:response`, one
 * matcher by requestId. No timer of its own: the earliest expiry is a row of the hub's deadline
 * table, and the alarm calls `expire`. Memory only, on purpose: a request lives for one Worker
 * call, and the call that waits for it keeps the hub awake; after an eviction nobody waits.
 */
export class PendingRequests {
  private readonly waiting = new Map<string, Waiting>();

  get size(): number {
    return this.waiting.size;
  }

  /** Registers a request; resolves with its answer, or `timeout` once the alarm finds it due. */
  wait(requestId: string, timeoutMs: number, now = Date.now()): Promise<DeviceAnswer> {
    return new Promise((resolve) => {
      this.waiting.set(requestId, { resolve, expiresAt: now + timeoutMs, timeoutMs });
    });
  }

  /** The earliest expiry of a request in flight, if any. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const w of this.waiting.values()) {
      if (next === null || w.expiresAt < next) next = w.expiresAt;
    }
    return next;
  }

  /** The alarm's "request" row: every request due by `now` ends with `timeout`. */
  expire(now = Date.now()): void {
    for (const [requestId, w] of [...this.waiting]) {
      if (w.expiresAt > now) continue;
      this.end(requestId, {
        ok: false,
        code: "timeout",
        message: `The device did not answer within ${Math.round(w.timeoutMs / 1000)} s.`,
      });
    }
  }

  /** A `device:response` arrived; false when nobody waits for it (late or unknown). */
  settle(frame: DeviceResponse): boolean {
    return this.end(
      frame.requestId,
      frame.ok
        ? { ok: true, result: frame.result }
        : {
            ok: false,
            code: frame.error?.code ?? "internal_error",
            message: frame.error?.message ?? "The device could not answer.",
          },
    );
  }

  /** The socket went away: nobody will answer the requests in flight. */
  failAll(message: string): void {
    for (const requestId of [...this.waiting.keys()]) {
      this.end(requestId, { ok: false, code: "device_offline", message });
    }
  }

  private end(requestId: string, answer: DeviceAnswer): boolean {
    const w = this.waiting.get(requestId);
    if (!w) return false;
    this.waiting.delete(requestId);
    w.resolve(answer);
    return true;
  }
}
