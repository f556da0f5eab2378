import { z } from "zod";

const Ms = z
  .number()
  .int()
  .nonnegative()
  .max(30 * 86_400_000);

/**
 * Where a message's time went, as its device's hub saw it (tracing not needed): each figure is
 * milliseconds since the hub got the message, in the order they happen. `startedMs`: the device
 * took it (`task:accepted`); `firstTokenMs`: the first text or thinking stored. Null: it never
 * got there (cancelled in the queue, failed before any output).
 */
export const MessageStages = z.object({
  queuedMs: Ms,
  startedMs: Ms.nullable(),
  firstTokenMs: Ms.nullable(),
  doneMs: Ms,
});
export type MessageStages = z.infer<typeof MessageStages>;

function seconds(ms: number): string {
  if (ms < 100) return `${ms} ms`;
  return ms < 100_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** One line for the task page: "queued 0 ms · started 0.8 s · first token 1.3 s · done 4.2 s". */
export function stagesLine(s: MessageStages): string {
  return [
    `queued ${seconds(s.queuedMs)}`,
    s.startedMs !== null ? `started ${seconds(s.startedMs)}` : null,
    s.firstTokenMs !== null ? `first token ${seconds(s.firstTokenMs)}` : null,
    `done ${seconds(s.doneMs)}`,
  ]
    .filter((part) => part !== null)
    .join(" · ");
}
