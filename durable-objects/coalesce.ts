import { type LiveEvent, MAX_BATCH_EVENTS, type SequencedEvent } from "@wegent/protocol";

// The live channel's batching: deltas of one message that were queued together go to the
// browsers as one `message:deltas` frame (one row, one WebSocket message per tab).

type DeltaEvent = Extract<LiveEvent, { type: "message:delta" | "message:deltas" }>;

function deltasOf(event: DeltaEvent): SequencedEvent[] {
  return event.type === "message:delta" ? [{ seq: event.seq, event: event.event }] : event.events;
}

/** Largest `message:deltas` frame the channel makes by joining (a row must stay < 2 MB). */
const MAX_JOINED_BYTES = 256 * 1024;

/**
 * Joins deltas of one message that follow each other, in order, up to MAX_BATCH_EVENTS events
 * and about MAX_JOINED_BYTES of events per frame.
 */
export function coalesce(events: LiveEvent[]): LiveEvent[] {
  const out: LiveEvent[] = [];
  let lastBytes = 0;
  for (const event of events) {
    const prev = out[out.length - 1];
    const isDelta = event.type === "message:delta" || event.type === "message:deltas";
    const bytes = isDelta ? JSON.stringify(deltasOf(event)).length : 0;
    if (
      isDelta &&
      (prev?.type === "message:delta" || prev?.type === "message:deltas") &&
      prev.messageId === event.messageId &&
      deltasOf(prev).length + deltasOf(event).length <= MAX_BATCH_EVENTS &&
      lastBytes + bytes <= MAX_JOINED_BYTES
    ) {
      out[out.length - 1] = {
        type: "message:deltas",
        taskId: prev.taskId,
        messageId: prev.messageId,
        events: [...deltasOf(prev), ...deltasOf(event)],
      };
      lastBytes += bytes;
      continue;
    }
    out.push(event);
    lastBytes = bytes;
  }
  return out;
}
