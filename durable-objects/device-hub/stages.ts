import type { MessageStages } from "@wegent/protocol";
import type { Work } from "./store";

/**
 * Where a message's time went, from what the hub stores anyway (tracing not needed): each
 * figure since the hub got it, never before the one it follows (a re-dispatch after a reconnect
 * moves `dispatchedAt` past an earlier acceptance).
 */
export function messageStages(w: Work, endedAt: number): MessageStages {
  const since = (at: number | null | undefined, floor: number) =>
    at === null || at === undefined ? null : Math.max(floor, Math.round(at - w.queuedAt));
  const doneMs = Math.max(0, Math.round(endedAt - w.queuedAt));
  const queuedMs = Math.min(doneMs, since(w.dispatchedAt, 0) ?? doneMs);
  const startedMs = since(w.acceptedAt, queuedMs);
  const firstTokenMs = since(w.firstTokenAt, startedMs ?? queuedMs);
  return {
    queuedMs,
    startedMs: startedMs === null ? null : Math.min(startedMs, doneMs),
    firstTokenMs: firstTokenMs === null ? null : Math.min(firstTokenMs, doneMs),
    doneMs,
  };
}
