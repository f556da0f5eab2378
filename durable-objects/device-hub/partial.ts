import {
  type AnsweredEvent,
  blocksOf,
  boundBlocks,
  type Block,
  type ProgressEvent,
} from "@wegent/protocol";
import type { OutputLog } from "./output-log";
import { projectBusyReason } from "./project-queue";
import type { HubStore } from "./store";

/** A running (or queued) message as this hub has it: what `GET /api/tasks/:id` shows. */
export interface ReplySoFar {
  /** The status as this hub has it (D1's copy is written behind and may lag a little). */
  status: "queued" | "running" | "cancelling";
  text: string;
  lastSeq: number;
  queuePosition: number | null;
  queueReason: string | null;
  blocks: Block[];
}

/** The transcript so far, with the answers given in it at their places, bounded for D1. */
export function transcript(output: OutputLog, messageId: string): Block[] {
  const answers = output.answers(messageId);
  const events: (ProgressEvent | AnsweredEvent)[] = [];
  let next = 0;
  for (const { seq, event } of output.after(messageId, 0)) {
    for (; next < answers.length && answers[next]!.afterSeq < seq; next++) {
      events.push({ kind: "answered", block: answers[next]!.block });
    }
    events.push(event);
  }
  for (const { block } of answers.slice(next)) events.push({ kind: "answered", block });
  return boundBlocks(blocksOf(events));
}

/** The reply so far of a message this hub holds (the final one is in D1), or null. */
export function partialReply(
  store: HubStore,
  output: OutputLog,
  messageId: string,
): ReplySoFar | null {
  const w = store.work(messageId);
  if (!w) return null;
  const position = store.queue().findIndex((q) => q.messageId === messageId);
  return {
    status: w.state === "queued" || w.state === "cancelling" ? w.state : "running",
    text: output.replyText(messageId),
    lastSeq: w.lastSeq,
    queuePosition: position >= 0 ? position + 1 : null,
    queueReason:
      position >= 0 ? projectBusyReason(w, store.slotHolders(), store.getMeta().projects) : null,
    blocks: transcript(output, messageId),
  };
}
