import type { DeviceRequestErrorCode, DeviceResponse } from "@wegent/protocol";

/** What a DeviceHub answers for one device request. */
export type DeviceAnswer =
  | { ok: true; result: unknown }
  | { ok: false; code: DeviceRequestErrorCode | "device_offline" | "timeout"; message: string };

/** Requests in flight at most per device: a flood of them must not pile up in the hub. */
export const MAX_PENDING_REQUESTS = 32;

/** Longest a request may wait: a command may run 600 s, plus 10 s for its answer. */
export const MAX_DEVICE_REQUEST_MS = 610_000;

/**
 * The hub's side of the generic device RPC: requests waiting for their `device:response`.
 * Memory only, on purpose: a request lives for one Worker call (seconds), and the call that
 * waits for it keeps the hub awake; after an eviction nobody waits any more.
 */
export class PendingRequests {
  private readonly waiting = new Map<string, (answer: DeviceAnswer) => void>();

  get size(): number {
    return this.waiting.size;
  }

  /** Registers a request and resolves with its answer, or `timeout` after `timeoutMs`. */
  wait(requestId: string, timeoutMs: number): Promise<DeviceAnswer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve({
          ok: false,
          code: "timeout",
          message: `The device did not answer within ${Math.round(timeoutMs / 1000)} s.`,
        });
      }, timeoutMs);
      this.waiting.set(requestId, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        resolve(answer);
      });
    });
  }

  /** A `device:response` arrived; false when nobody waits for it (late or unknown). */
  settle(frame: DeviceResponse): boolean {
    const resolve = this.waiting.get(frame.requestId);
    if (!resolve) return false;
    resolve(
      frame.ok
        ? { ok: true, result: frame.result }
        : {
            ok: false,
            code: frame.error?.code ?? "internal_error",
            message: frame.error?.message ?? "The device could not answer.",
          },
    );
    return true;
  }

  /** The socket went away: nobody will answer the requests in flight. */
  failAll(message: string): void {
    for (const resolve of [...this.waiting.values()]) {
      resolve({ ok: false, code: "device_offline", message });
    }
  }
}
