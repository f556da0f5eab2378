import type { PushKind } from "@wegent/protocol";

// What a push is about, shared by the sender (send.ts) and the UserHub's retries (no Worker
// types here, so the hub's pieces type-check and run on Node too).

/** One event worth a push, as the live channel saw it. */
export interface PushNotice {
  kind: PushKind;
  taskId: string;
  /** `<kind>:<messageId or requestId>`: the same key never sends twice. */
  eventKey: string;
  requestId?: string;
  requestKind?: "permission" | "question" | "plan";
  /** For a permission: the tool's name (never its input). */
  tool?: string;
}

/**
 * A subscription the push did not reach for a reason that may pass: the service said 429 (or
 * an earlier 429's Retry-After has not passed), answered 5xx, or could not be reached. `at` is
 * the earliest time to try again (epoch ms) when the service said, else null.
 */
export interface PushRetry {
  subscriptionId: string;
  at: number | null;
}
