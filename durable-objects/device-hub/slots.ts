import {
  availabilityText,
  type Device,
  type FailureCode,
  type HubFrame,
  type TaskComplete,
  type TaskFailed,
  type TaskProgress,
  type TaskProgressBatch,
  type TaskStatus,
} from "@wegent/protocol";
import { log } from "../../edge/log";
import { projectBusyReason } from "./project-queue";
import { runtimeName } from "./runtimes";
import type { OutputLog } from "./output-log";
import { partialReply, type ReplySoFar, transcript } from "./partial";
import { capReply, finalWrite } from "./reply-cap";
import type { HubStore, Work } from "./store";
import { HubSpans } from "./hub-spans";
import { messageStages } from "./stages";
import { reportEnded, reportFigures } from "./hub-metrics";
import type {
  Ending,
  ExecutorLink,
  MessageEnd,
  SlotEffects,
  SubmitRequest,
  SubmitResult,
} from "./slot-types";

/**
 * Slots, queue and dispatch of one device: a plain class over the hub's store (no Durable Object
 * in it), so its rules run and are tested on Node as well as in workerd.
 */
export class Slots {
  /**
   * Messages whose final write is on its way: the work row stays until D1 has it (so a crash
   * meanwhile ends it again), but nothing else may change them any more — a cancel, an answer
   * or a second ending would otherwise queue a status behind the final one.
   */
  private readonly ending = new Set<string>();
  private readonly spans: HubSpans;
  /** The executor's span that reported a message's end (the completion span's parent). */
  private readonly endParents = new Map<string, string>();

  constructor(
    private readonly store: HubStore,
    private readonly output: OutputLog,
    private readonly effects: SlotEffects,
  ) {
    this.spans = new HubSpans(effects.tracer, store);
  }

  status(): Device["status"] {
    const meta = this.store.getMeta();
    if (meta.connId && meta.registered) {
      return this.store.slotHolders().length >= meta.maxSlots ? "busy" : "online";
    }
    return meta.disconnectedAt !== null ? "reconnecting" : "offline";
  }

  figures() {
    return {
      status: this.status(),
      slotsUsed: this.store.slotHolders().length,
      queueLength: this.store.queue().length,
    };
  }

  deviceName(): string {
    const meta = this.store.getMeta();
    return meta.displayName || meta.name || meta.deviceId;
  }

  /** Queues a message of a task on this device, and dispatches it at once if a slot is free. */
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const meta = this.store.getMeta();
    if (this.status() === "offline" || meta.draining) {
      return {
        ok: false,
        code: "device_offline",
        // Said as the device list says it (a stopping executor is still "reconnecting" there).
        message: `Device ${availabilityText(this.deviceName(), this.status() === "reconnecting" ? "reconnecting" : "offline")}`,
      };
    }
    const runtime = request.runtime ?? "claude-code";
    const has = meta.runtimes ?? null;
    if (has !== null && has.length > 0 && !has.includes(runtime)) {
      return {
        ok: false,
        code: "runtime_unavailable",
        message: `Device ${this.deviceName()} has no ${runtimeName(runtime)}; it runs ${has.map(runtimeName).join(", ")}.`,
      };
    }
    const span = this.spans.submit(request);
    if (!this.store.work(request.messageId)) {
      this.store.addWork({ ...request, state: "queued", queuedAt: Date.now() });
      this.spans.keep(span, request.messageId);
    }
    await this.pump();
    const work = this.store.work(request.messageId);
    const position = this.store.queue().findIndex((w) => w.messageId === request.messageId);
    if (work?.state === "queued") {
      this.effects.setMessageStatus(work, "queued");
      await this.publishQueuePositions();
    }
    this.effects.publishStatus();
    this.reportFigures();
    span?.end({ "wegent.status": work?.state ?? "running", "wegent.queue_position": position + 1 });
    return position >= 0
      ? { ok: true, status: "queued", queuePosition: position + 1 }
      : { ok: true, status: "running", queuePosition: null };
  }

  /** Fills free slots from the head of the queue, while an executor is registered. */
  async pump(): Promise<void> {
    const meta = this.store.getMeta();
    const executor = this.effects.executor();
    if (!executor || !meta.registered || meta.draining) return;
    let moved = false;
    for (const next of this.store.queue()) {
      if (this.store.slotHolders().length >= meta.maxSlots) break;
      // A folder that is not a git repository takes one task at a time; the rest wait.
      if (projectBusyReason(next, this.store.slotHolders(), meta.projects)) continue;
      this.dispatch(executor, next, 1);
      this.effects.setMessageStatus(next, "running");
      this.announce(next, "running");
      moved = true;
    }
    if (moved) await this.publishQueuePositions();
  }

  dispatch(executor: ExecutorLink, w: Work, attempt: number): void {
    this.store.markDispatched(w.messageId, Date.now(), attempt);
    const traceparent = this.spans.dispatched(w, attempt);
    executor.send({
      type: "task:execute",
      taskId: w.taskId,
      messageId: w.messageId,
      prompt: w.prompt,
      resumeSessionId: w.resumeSessionId,
      runtime: w.runtime ?? "claude-code",
      attempt: Math.min(2, Math.max(1, attempt)),
      projectId: w.projectId,
      permissionMode: w.permissionMode,
      model: w.model ?? null,
      ...(traceparent ? { traceparent } : {}),
    });
    log({
      event: "task.dispatched",
      taskId: w.taskId,
      messageId: w.messageId,
      deviceId: this.store.getMeta().deviceId,
      attempt,
    });
  }

  /** Tells the message's owner its new status (the D1 write is the caller's). */
  private announce(
    w: Work,
    status: TaskStatus,
    extra: {
      queuePosition?: number;
      queueReason?: string | null;
      errorCode?: FailureCode | null;
      errorMessage?: string | null;
    } = {},
  ): void {
    this.effects.push(w.ownerId, {
      type: "task:status",
      taskId: w.taskId,
      messageId: w.messageId,
      status,
      queuePosition: extra.queuePosition ?? null,
      queueReason: extra.queueReason ?? null,
      errorCode: extra.errorCode ?? null,
      errorMessage: extra.errorMessage ?? null,
    });
  }

  private async publishQueuePositions(): Promise<void> {
    const holders = this.store.slotHolders();
    const projects = this.store.getMeta().projects;
    for (const [i, w] of this.store.queue().entries())
      this.announce(w, "queued", {
        queuePosition: i + 1,
        queueReason: projectBusyReason(w, holders, projects),
      });
  }

  /** task:accepted. False when the message is not dispatched here. */
  accepted(taskId: string, messageId: string): boolean {
    const w = this.store.work(messageId);
    if (!w || w.taskId !== taskId || w.state === "queued") return false;
    if (w.state === "dispatched") this.store.setState(messageId, "running");
    this.store.markAccepted(messageId, Date.now());
    return true;
  }

  /**
   * task:progress / task:complete / task:failed: stored in order, acknowledged, pushed live; the
   * final frame ends the message. Returns the frames to answer with.
   */
  async receive(
    frame: TaskProgress | TaskProgressBatch | TaskComplete | TaskFailed,
  ): Promise<HubFrame[]> {
    const startMs = Date.now();
    const w = this.store.work(frame.messageId);
    if (!w || w.taskId !== frame.taskId || w.state === "queued") {
      return [
        {
          type: "error",
          code: "unknown_task",
          message: `Message ${frame.messageId} is not running on this device.`,
        },
      ];
    }
    const ack = (seq: number): HubFrame => ({
      type: "task:ack",
      taskId: w.taskId,
      messageId: w.messageId,
      seq,
    });
    const events =
      frame.type === "task:progress-batch"
        ? frame.events.filter((e) => e.seq > w.lastSeq) // a re-sent batch may overlap
        : frame.type === "task:progress" && frame.seq > w.lastSeq
          ? [{ seq: frame.seq, event: frame.event }]
          : [];
    const isProgress = frame.type === "task:progress-batch" || frame.type === "task:progress";
    const seq = isProgress ? (events[0]?.seq ?? w.lastSeq) : frame.seq;
    if (seq <= w.lastSeq) return [ack(w.lastSeq)]; // a re-send we already stored
    if (seq > w.lastSeq + 1) {
      return [
        {
          type: "error",
          code: "out_of_order",
          message: `Expected seq ${w.lastSeq + 1} for message ${w.messageId}, got ${seq}.`,
        },
        ack(w.lastSeq),
      ];
    }
    if (frame.type === "task:progress" || frame.type === "task:progress-batch") {
      // The events' seqs are consecutive (the schema checks), so all of them are new and in
      // order: one transaction, one ack, one live push.
      const last = events[events.length - 1]!.seq;
      this.output.transaction(() => {
        this.output.appendMany(w.messageId, events);
        this.store.outputStored(w.messageId, last);
        // Output proves the device took it, even if its task:accepted was lost.
        this.store.markAccepted(w.messageId, startMs);
        if (events.some(({ event }) => event.kind === "text" || event.kind === "thinking")) {
          this.store.markFirstToken(w.messageId, startMs);
        }
      });
      this.spans.outputStored(w, frame.traceparent, events.length, startMs);
      for (const { event } of events) {
        if (event.kind === "user_message") this.effects.messageTaken(w, event.userMessageId);
      }
      const { taskId, messageId, ownerId } = w;
      this.effects.push(
        ownerId,
        events.length === 1
          ? { type: "message:delta", taskId, messageId, ...events[0]! }
          : { type: "message:deltas", taskId, messageId, events },
      );
      return [ack(last)];
    }
    const end: Ending =
      frame.type === "task:complete"
        ? {
            status: "completed",
            content: frame.text,
            sessionId: frame.sessionId,
            usage: frame.usage,
            costUsd: frame.costUsd,
          }
        : {
            status: frame.code === "cancelled" || w.state === "cancelling" ? "cancelled" : "failed",
            content: frame.text || this.output.replyText(w.messageId),
            errorCode: frame.code,
            errorMessage: frame.message,
            sessionId: frame.sessionId,
          };
    this.store.setLastSeq(w.messageId, frame.seq);
    if (frame.traceparent) this.endParents.set(w.messageId, frame.traceparent);
    await this.finish(w, end);
    return [ack(frame.seq)];
  }

  /** The message's final write is on its way (see `ending`). */
  isEnding(messageId: string): boolean {
    return this.ending.has(messageId);
  }

  /** Ends a message: its one final write to D1, the live push, the slot freed, the queue moved. */
  async finish(w: Work, end: Ending): Promise<void> {
    if (this.ending.has(w.messageId)) return; // already being ended (a re-send, a deadline)
    this.ending.add(w.messageId);
    try {
      await this.end(w, end);
    } finally {
      this.ending.delete(w.messageId);
      this.endParents.delete(w.messageId);
    }
  }

  private async end(w: Work, end: Ending): Promise<void> {
    const startMs = Date.now();
    const full: MessageEnd = {
      content: end.content ?? this.output.replyText(w.messageId),
      errorCode: end.errorCode ?? null,
      errorMessage: end.errorMessage ?? null,
      sessionId: end.sessionId ?? null,
      usage: end.usage ?? null,
      costUsd: end.costUsd ?? null,
      status: end.status,
      blocks: transcript(this.output, w.messageId),
      stages: messageStages(this.store.work(w.messageId) ?? w, startMs),
    };
    const stored = await finalWrite((e) => this.effects.finishMessage(w, e), w.messageId, full);
    this.effects.messageEnded(w);
    const wasQueued = w.state === "queued";
    this.store.removeWork(w.messageId);
    this.output.remove(w.messageId);
    log({
      event: "task.finished",
      taskId: w.taskId,
      messageId: w.messageId,
      status: stored.status,
      code: stored.errorCode,
    });
    // Every ending: reported by the executor, or by a deadline, a cancel, a lost device.
    this.spans.completion(
      w,
      this.endParents.get(w.messageId),
      startMs,
    )(stored.status, stored.errorCode);
    this.announce(w, stored.status, {
      errorCode: stored.errorCode,
      errorMessage: stored.errorMessage,
    });
    this.effects.push(w.ownerId, {
      type: "message:done",
      taskId: w.taskId,
      messageId: w.messageId,
      status: stored.status,
      content: capReply(stored.content).text,
      ...(stored.stages ? { stages: stored.stages } : {}),
    });
    if (wasQueued) await this.publishQueuePositions();
    else await this.pump();
    this.effects.publishStatus();
    reportEnded(this.effects.metrics, stored.status, stored.errorCode, stored.stages);
    this.reportFigures();
  }

  /** The device's gauges now (a message event, or presence: connected, reconnecting, offline). */
  reportFigures(): void {
    reportFigures(this.effects.metrics, {
      deviceId: this.store.getMeta().deviceId,
      ...this.figures(),
    });
  }

  /** Cancels a message of `ownerId`: a queued one at once, a running one on the device. */
  async cancel(
    messageId: string,
    ownerId: string,
  ): Promise<"cancelled" | "cancelling" | "ending" | "not_found"> {
    const w = this.store.work(messageId);
    if (!w || w.ownerId !== ownerId) return "not_found";
    if (this.ending.has(messageId)) return "ending";
    if (w.state === "queued") {
      await this.finish(w, {
        status: "cancelled",
        errorCode: "cancelled",
        errorMessage: "Cancelled before it started.",
      });
      return "cancelled";
    }
    if (w.state !== "cancelling") {
      this.store.markCancelling(messageId, Date.now());
      this.sendCancel(this.effects.executor(), w);
      this.effects.setMessageStatus(w, "cancelling");
      this.announce(w, "cancelling");
    }
    return "cancelling";
  }

  sendCancel(executor: ExecutorLink | null, w: Work): void {
    executor?.send({
      type: "task:cancel",
      taskId: w.taskId,
      messageId: w.messageId,
      reason: "Stopped by the user.",
    });
  }

  /**
   * Compares what the device says it runs with what the hub thinks: a task the hub thinks runs
   * but the device does not is failed; one the device runs but the hub does not know is
   * cancelled there. Slot counts are never derived from heartbeats, so they cannot drift.
   */
  async reconcile(executor: ExecutorLink, runningTaskIds: string[]): Promise<void> {
    const reported = new Set(runningTaskIds);
    const holders = this.store.slotHolders();
    for (const w of holders) {
      if (reported.has(w.taskId)) {
        if (w.state === "dispatched") this.store.setState(w.messageId, "running");
      } else if (w.state === "running") {
        await this.finish(w, {
          status: "failed",
          errorCode: "lost_on_device",
          errorMessage: `Device ${this.deviceName()} no longer runs this task.`,
        });
      } else if (w.state === "cancelling") {
        await this.finish(w, {
          status: "cancelled",
          errorCode: "cancelled",
          errorMessage: "Cancelled.",
        });
      }
    }
    const known = new Set(holders.map((w) => w.taskId));
    for (const taskId of reported) {
      if (!known.has(taskId)) {
        executor.send({
          type: "task:cancel",
          taskId,
          messageId: null,
          reason: "This task is not running on this device any more.",
        });
      }
    }
  }

  /** The reply so far of a running message, and its status here (see partial.ts). */
  partial(messageId: string): ReplySoFar | null {
    return partialReply(this.store, this.output, messageId);
  }
}
