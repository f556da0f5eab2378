import { z } from "zod";
import { FailureCode, Id, MAX_BATCH_EVENTS, ProgressEvent, SequencedEvent } from "./common";
import { Device, TaskStatus } from "./api";
import { AnswerBlock, InputOutcome, PendingInput } from "./conversation";
import { MessageStages } from "./stages";

// Frames the live channel pushes to the browser. Each carries `liveSeq`, a per-user sequence;
// a browser that reconnects with `?after=<liveSeq>` gets everything it missed, in order.

const live = { liveSeq: z.number().int().nonnegative() };

export const LiveHello = z.object({
  type: z.literal("live:hello"),
  ...live,
  /** The browser's `after` was older than what the channel keeps: refetch, then carry on. */
  reset: z.boolean(),
});

export const LiveDeviceStatus = z.object({
  type: z.literal("device:status"),
  ...live,
  device: Device,
});

export const LiveDeviceRemoved = z.object({
  type: z.literal("device:removed"),
  ...live,
  deviceId: z.string(),
});

export const LiveTaskStatus = z.object({
  type: z.literal("task:status"),
  ...live,
  taskId: Id,
  messageId: Id,
  status: TaskStatus,
  queuePosition: z.number().int().nullable(),
  /** Why a queued message waits although a slot may be free (e.g. its project is busy). */
  queueReason: z.string().nullable().optional(),
  errorCode: FailureCode.nullable(),
  errorMessage: z.string().nullable(),
});

export const LiveMessageDelta = z.object({
  type: z.literal("message:delta"),
  ...live,
  taskId: Id,
  messageId: Id,
  seq: z.number().int().positive(),
  event: ProgressEvent,
});

/**
 * Several deltas of one message in one frame. It takes one `liveSeq` per event: the frame
 * covers `liveSeq - events.length + 1` … `liveSeq`, so per-event ids (SSE `id:`) stay exact.
 */
export const LiveMessageDeltas = z.object({
  type: z.literal("message:deltas"),
  ...live,
  taskId: Id,
  messageId: Id,
  events: z.array(SequencedEvent).min(1).max(MAX_BATCH_EVENTS),
});

export const LiveMessageDone = z.object({
  type: z.literal("message:done"),
  ...live,
  taskId: Id,
  messageId: Id,
  status: TaskStatus,
  content: z.string(),
  /** Where its time went (the task page's stage line); absent from older hubs. */
  stages: MessageStages.optional(),
});

/** The agent asks the user something; every open tab shows the card. */
export const LiveInputRequest = z.object({
  type: z.literal("input:request"),
  ...live,
  taskId: Id,
  messageId: Id,
  request: PendingInput,
});

/** A request was answered (in any tab), expired, or ended with its message: close the card. */
export const LiveInputResolved = z.object({
  type: z.literal("input:resolved"),
  ...live,
  taskId: Id,
  messageId: Id,
  requestId: z.string(),
  outcome: InputOutcome,
  /** The answer as the reply's transcript records it (absent when the message ended). */
  answer: AnswerBlock.optional(),
});

export const LiveFrame = z.discriminatedUnion("type", [
  LiveHello,
  LiveDeviceStatus,
  LiveDeviceRemoved,
  LiveTaskStatus,
  LiveMessageDelta,
  LiveMessageDeltas,
  LiveMessageDone,
  LiveInputRequest,
  LiveInputResolved,
]);
export type LiveFrame = z.infer<typeof LiveFrame>;
/** A live frame before the channel stamps its sequence. */
export type LiveEvent = LiveFrame extends infer F
  ? F extends LiveFrame
    ? Omit<F, "liveSeq">
    : never
  : never;

/**
 * A `message:deltas` frame as the `message:delta` frames it stands for (each with its own
 * liveSeq); any other frame as itself. For clients that handle one delta at a time.
 */
export function expandDeltas(frame: LiveFrame): LiveFrame[] {
  if (frame.type !== "message:deltas") return [frame];
  const first = frame.liveSeq - frame.events.length + 1;
  return frame.events.map((e, i) => ({
    type: "message:delta",
    liveSeq: first + i,
    taskId: frame.taskId,
    messageId: frame.messageId,
    seq: e.seq,
    event: e.event,
  }));
}
