import { DurableObject } from "cloudflare:workers";
import {
  CloseCode,
  ExecutorFrame,
  type DeviceRegister,
  type FailureCode,
  type TaskStatus,
  type HubFrame,
  type TaskComplete,
  type TaskFailed,
  type TaskProgress,
  parseFrame,
  PING,
  PONG,
} from "@wegent/protocol";
import { log } from "../platform/log";
import { seconds } from "../platform/time";
import {
  finishMessage,
  type MessageEnd,
  setMessageStatus,
  upsertDevice,
  writeDeviceFigures,
} from "./catalogue";
import { HubStore, type Work } from "./hub-store";
import { LiveOutbox } from "./live-outbox";

/** Set by the Worker after it verified the token; the hub trusts nothing else. */
export const HUB_HEADERS = {
  owner: "X-Wegent-Owner",
  device: "X-Wegent-Device",
  deviceType: "X-Wegent-Device-Type",
  tokenId: "X-Wegent-Token-Id",
  tokenExpiresAt: "X-Wegent-Token-Expires",
} as const;

interface SocketAttachment {
  connId: string;
  connectedAt: number;
  strikes: number;
}

export interface SubmitRequest {
  taskId: string;
  messageId: string;
  ownerId: string;
  prompt: string;
  resumeSessionId: string | null;
}

export type SubmitResult =
  | { ok: true; status: "running" | "queued"; queuePosition: number | null }
  | { ok: false; code: "device_offline"; message: string };

const MAX_STRIKES = 10;
const CANCEL_TIMEOUT_MS = 5_000;
const DEVICE_ROW_REFRESH_MS = 5 * 60_000;

/**
 * One per device. Holds the executor's socket, presence, the slot leases and the queue, and the
 * sequence-numbered output of the tasks running there. All state is in the object's SQLite
 * (HubStore), so hibernation and eviction lose nothing; timers are a single alarm.
 */
export class DeviceHub extends DurableObject<Env> {
  private readonly store: HubStore;
  private readonly live: LiveOutbox;
  /** Last frame from the current socket (memory only: it matters within one ping timeout). */
  private lastFrameAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HubStore(ctx.storage.sql);
    this.live = new LiveOutbox(env, (work) => ctx.waitUntil(work));
    // The runtime answers the executor's pings itself: presence costs no wake-ups.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  private get graceMs() {
    return seconds(this.env.DEVICE_GRACE_SECONDS, 15) * 1000;
  }
  private get pingTimeoutMs() {
    return seconds(this.env.PING_TIMEOUT_SECONDS, 25) * 1000;
  }
  private get queueTimeoutMs() {
    return seconds(this.env.QUEUE_TIMEOUT_SECONDS, 600) * 1000;
  }
  private get dispatchTimeoutMs() {
    return seconds(this.env.DISPATCH_TIMEOUT_SECONDS, 10) * 1000;
  }

  // --- the executor's socket ------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const ownerId = request.headers.get(HUB_HEADERS.owner);
    const deviceId = request.headers.get(HUB_HEADERS.device);
    if (!ownerId || !deviceId) return new Response("missing identity", { status: 400 });
    const type = request.headers.get(HUB_HEADERS.deviceType) === "cloud" ? "cloud" : "local";

    // A second connection with this device id replaces the first: never two task receivers.
    const previous = this.currentSocket();
    if (previous)
      previous.close(CloseCode.replaced, "Another wegent-executor with this device id connected.");

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const attachment: SocketAttachment = {
      connId: crypto.randomUUID(),
      connectedAt: Date.now(),
      strikes: 0,
    };
    this.ctx.acceptWebSocket(server, ["executor"]);
    server.serializeAttachment(attachment);
    this.store.setMeta({
      ownerId,
      deviceId,
      type,
      connId: attachment.connId,
      registered: false,
      draining: false,
      tokenId: request.headers.get(HUB_HEADERS.tokenId),
      tokenExpiresAt: request.headers.get(HUB_HEADERS.tokenExpiresAt),
    });
    if (previous) log({ event: "device.registered", ownerId, deviceId, replaced: true });
    await this.scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const meta = this.store.getMeta();
    if (attachment.connId !== meta.connId) {
      ws.close(CloseCode.replaced, "This connection was replaced.");
      return;
    }
    this.lastFrameAt = Date.now();
    const parsed = parseFrame(ExecutorFrame, message);
    if (!parsed.ok) {
      attachment.strikes += 1;
      ws.serializeAttachment(attachment);
      log(
        {
          event: "device.bad_frame",
          ownerId: meta.ownerId,
          deviceId: meta.deviceId,
          code: parsed.code,
          strikes: attachment.strikes,
        },
        "warn",
      );
      this.send(ws, { type: "error", code: parsed.code, message: parsed.message });
      if (attachment.strikes >= MAX_STRIKES) {
        ws.close(CloseCode.protocolAbuse, "Too many malformed frames.");
        await this.socketGone("protocol abuse");
      }
      return;
    }
    const frame = parsed.frame;
    if (!meta.registered && frame.type !== "device:register") {
      this.send(ws, {
        type: "error",
        code: "not_registered",
        message: "Send device:register first.",
      });
      return;
    }
    switch (frame.type) {
      case "device:register":
        return this.register(ws, frame);
      case "device:heartbeat":
        this.store.setMeta({ lastSeenAt: Date.now() });
        await this.reconcile(ws, frame.runningTaskIds);
        await this.publishStatus();
        return this.scheduleAlarm();
      case "device:goodbye":
        this.store.setMeta({ draining: true });
        return;
      case "task:accepted":
        return this.accepted(ws, frame.taskId, frame.messageId);
      case "task:progress":
      case "task:complete":
      case "task:failed":
        return this.output(ws, frame);
      default:
        return assertNever(frame);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    const attachment = ws.deserializeAttachment() as SocketAttachment | null;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
    if (attachment && attachment.connId === this.store.getMeta().connId) {
      await this.socketGone(`closed with ${code}`);
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const attachment = ws.deserializeAttachment() as SocketAttachment | null;
    if (attachment && attachment.connId === this.store.getMeta().connId) {
      await this.socketGone("socket error");
    }
  }

  private currentSocket(): WebSocket | null {
    const connId = this.store.getMeta().connId;
    if (!connId) return null;
    for (const ws of this.ctx.getWebSockets("executor")) {
      const attachment = ws.deserializeAttachment() as SocketAttachment | null;
      if (attachment?.connId === connId) return ws;
    }
    return null;
  }

  private send(ws: WebSocket | null, frame: HubFrame): void {
    if (!ws) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // The socket is closing; the close handler takes over.
    }
  }

  // --- presence --------------------------------------------------------------------------------

  status(): "online" | "busy" | "reconnecting" | "offline" {
    const meta = this.store.getMeta();
    if (meta.connId && meta.registered) {
      return this.store.slotHolders().length >= meta.maxSlots ? "busy" : "online";
    }
    return meta.disconnectedAt !== null ? "reconnecting" : "offline";
  }

  private async register(ws: WebSocket, frame: DeviceRegister): Promise<void> {
    const meta = this.store.getMeta();
    if (frame.deviceId !== meta.deviceId) {
      this.send(ws, {
        type: "error",
        code: "wrong_device",
        message: "device:register names another device id than the connection.",
      });
      ws.close(CloseCode.protocolAbuse, "Device id mismatch.");
      return;
    }
    const replaced = meta.registered;
    this.store.setMeta({
      name: frame.name,
      platform: frame.platform,
      version: frame.executorVersion,
      maxSlots: frame.maxSlots,
      registered: true,
      draining: false,
      disconnectedAt: null,
      offlineSince: null,
      lastSeenAt: Date.now(),
    });
    const displayName = await upsertDevice(this.env, this.store.getMeta(), this.figures());
    this.store.setMeta({ displayName, lastPublished: null });
    log({ event: "device.registered", ownerId: meta.ownerId, deviceId: meta.deviceId, replaced });

    await this.reconcile(ws, frame.runningTaskIds);
    const reported = new Set(frame.runningTaskIds);
    const holders = this.store.slotHolders();
    this.send(ws, {
      type: "device:registered",
      deviceId: meta.deviceId,
      name: displayName,
      pingIntervalMs: 10_000,
      heartbeatIntervalMs: 30_000,
      resume: holders
        .filter((w) => w.state !== "dispatched" || reported.has(w.taskId))
        .map((w) => ({ taskId: w.taskId, messageId: w.messageId, lastSeq: w.lastSeq })),
      tokenExpiresAt: this.store.getMeta().tokenExpiresAt,
    });
    for (const w of holders) {
      if (w.state === "dispatched" && !reported.has(w.taskId)) this.dispatch(ws, w, w.attempt || 1);
      if (w.state === "cancelling") this.sendCancel(ws, w);
    }
    await this.pump();
    await this.publishStatus();
    await this.scheduleAlarm();
  }

  /**
   * Compares what the device says it runs with what the hub thinks: a task the hub thinks runs
   * but the device does not is failed; one the device runs but the hub does not know is
   * cancelled there. Slot counts are never derived from heartbeats, so they cannot drift.
   */
  private async reconcile(ws: WebSocket, runningTaskIds: string[]): Promise<void> {
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
        this.send(ws, {
          type: "task:cancel",
          taskId,
          messageId: null,
          reason: "This task is not running on this device any more.",
        });
      }
    }
  }

  /** The current socket is gone: reconnecting for the grace, then offline. */
  private async socketGone(reason: string): Promise<void> {
    const meta = this.store.getMeta();
    if (!meta.connId) return;
    this.store.setMeta({ connId: null, registered: false, disconnectedAt: Date.now() });
    log({ event: "device.lost", ownerId: meta.ownerId, deviceId: meta.deviceId, reason });
    await this.publishStatus();
    await this.scheduleAlarm();
  }

  private async graceExpired(): Promise<void> {
    for (const w of this.store.slotHolders()) {
      await this.finish(w, {
        status: w.state === "cancelling" ? "cancelled" : "failed",
        errorCode: "device_disconnected",
        errorMessage: `Device ${this.deviceName()} disconnected.`,
      });
    }
    this.store.setMeta({ disconnectedAt: null, offlineSince: Date.now() });
    await this.publishStatus();
  }

  private deviceName(): string {
    const meta = this.store.getMeta();
    return meta.displayName || meta.name || meta.deviceId;
  }

  // --- slots, queue and dispatch ---------------------------------------------------------------

  private figures() {
    return {
      status: this.status(),
      slotsUsed: this.store.slotHolders().length,
      queueLength: this.store.queue().length,
    };
  }

  /** Queues a message of a task on this device, and dispatches it at once if a slot is free. */
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const meta = this.store.getMeta();
    const status = this.status();
    if (status === "offline" || meta.draining) {
      return {
        ok: false,
        code: "device_offline",
        message: `Device ${this.deviceName()} is offline. Start wegent-executor on it, or choose another device.`,
      };
    }
    if (!this.store.work(request.messageId)) {
      this.store.addWork({ ...request, state: "queued", queuedAt: Date.now() });
    }
    await this.pump();
    const work = this.store.work(request.messageId);
    const position = this.store.queue().findIndex((w) => w.messageId === request.messageId);
    if (work?.state === "queued") {
      await setMessageStatus(this.env, work.taskId, work.messageId, "queued");
      await this.publishQueuePositions();
    }
    await this.publishStatus();
    await this.scheduleAlarm();
    return position >= 0
      ? { ok: true, status: "queued", queuePosition: position + 1 }
      : { ok: true, status: "running", queuePosition: null };
  }

  /** Fills free slots from the head of the queue, while an executor is registered. */
  private async pump(): Promise<void> {
    const meta = this.store.getMeta();
    const ws = this.currentSocket();
    if (!ws || !meta.registered || meta.draining) return;
    let moved = false;
    for (const next of this.store.queue()) {
      if (this.store.slotHolders().length >= meta.maxSlots) break;
      this.dispatch(ws, next, 1);
      await setMessageStatus(this.env, next.taskId, next.messageId, "running");
      await this.announce(next, "running");
      moved = true;
    }
    if (moved) await this.publishQueuePositions();
  }

  private dispatch(ws: WebSocket, w: Work, attempt: number): void {
    this.store.markDispatched(w.messageId, Date.now(), attempt);
    this.send(ws, {
      type: "task:execute",
      taskId: w.taskId,
      messageId: w.messageId,
      prompt: w.prompt,
      resumeSessionId: w.resumeSessionId,
      runtime: "claude-code",
      attempt: Math.min(2, Math.max(1, attempt)),
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
  private async announce(
    w: Work,
    status: TaskStatus,
    extra: {
      queuePosition?: number;
      errorCode?: FailureCode | null;
      errorMessage?: string | null;
    } = {},
  ): Promise<void> {
    this.live.push(w.ownerId, {
      type: "task:status",
      taskId: w.taskId,
      messageId: w.messageId,
      status,
      queuePosition: extra.queuePosition ?? null,
      errorCode: extra.errorCode ?? null,
      errorMessage: extra.errorMessage ?? null,
    });
  }

  private async publishQueuePositions(): Promise<void> {
    const queue = this.store.queue();
    for (const [i, w] of queue.entries())
      await this.announce(w, "queued", { queuePosition: i + 1 });
  }

  private async accepted(ws: WebSocket, taskId: string, messageId: string): Promise<void> {
    const w = this.store.work(messageId);
    if (!w || w.taskId !== taskId || w.state === "queued") {
      this.send(ws, {
        type: "error",
        code: "unknown_task",
        message: `Message ${messageId} is not dispatched to this device.`,
      });
      return;
    }
    if (w.state === "dispatched") this.store.setState(messageId, "running");
    await this.scheduleAlarm();
  }

  private async output(
    ws: WebSocket,
    frame: TaskProgress | TaskComplete | TaskFailed,
  ): Promise<void> {
    const w = this.store.work(frame.messageId);
    if (!w || w.taskId !== frame.taskId || w.state === "queued") {
      this.send(ws, {
        type: "error",
        code: "unknown_task",
        message: `Message ${frame.messageId} is not running on this device.`,
      });
      return;
    }
    const ack = (seq: number) =>
      this.send(ws, { type: "task:ack", taskId: w.taskId, messageId: w.messageId, seq });
    if (frame.seq <= w.lastSeq) return ack(w.lastSeq); // a re-send we already stored
    if (frame.seq > w.lastSeq + 1) {
      this.send(ws, {
        type: "error",
        code: "out_of_order",
        message: `Expected seq ${w.lastSeq + 1} for message ${w.messageId}, got ${frame.seq}.`,
      });
      return ack(w.lastSeq);
    }
    if (frame.type === "task:progress") {
      this.store.appendOutput(w.messageId, frame.seq, frame.event);
      ack(frame.seq);
      this.live.push(w.ownerId, {
        type: "message:delta",
        taskId: w.taskId,
        messageId: w.messageId,
        seq: frame.seq,
        event: frame.event,
      });
      return;
    }
    const end: Partial<MessageEnd> & Pick<MessageEnd, "status"> =
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
            content: frame.text || this.store.replyText(w.messageId),
            errorCode: frame.code,
            errorMessage: frame.message,
            sessionId: frame.sessionId,
          };
    this.store.setLastSeq(w.messageId, frame.seq);
    await this.finish(w, end);
    ack(frame.seq);
  }

  /** Ends a message: its one final write to D1, the live push, the slot freed, the queue moved. */
  private async finish(
    w: Work,
    end: Partial<MessageEnd> & Pick<MessageEnd, "status">,
  ): Promise<void> {
    const full: MessageEnd = {
      content: end.content ?? this.store.replyText(w.messageId),
      errorCode: end.errorCode ?? null,
      errorMessage: end.errorMessage ?? null,
      sessionId: end.sessionId ?? null,
      usage: end.usage ?? null,
      costUsd: end.costUsd ?? null,
      status: end.status,
    };
    await finishMessage(this.env, w.taskId, w.messageId, full);
    const wasQueued = w.state === "queued";
    this.store.removeWork(w.messageId);
    log({
      event: "task.finished",
      taskId: w.taskId,
      messageId: w.messageId,
      status: full.status,
      code: full.errorCode,
    });
    await this.announce(w, full.status, {
      errorCode: full.errorCode,
      errorMessage: full.errorMessage,
    });
    this.live.push(w.ownerId, {
      type: "message:done",
      taskId: w.taskId,
      messageId: w.messageId,
      status: full.status,
      content: full.content,
    });
    if (wasQueued) await this.publishQueuePositions();
    else await this.pump();
    await this.publishStatus();
  }

  // --- cancel ----------------------------------------------------------------------------------

  /** Cancels a message of `ownerId`: a queued one at once, a running one on the device. */
  async cancel(
    messageId: string,
    ownerId: string,
  ): Promise<"cancelled" | "cancelling" | "not_found"> {
    const w = this.store.work(messageId);
    if (!w || w.ownerId !== ownerId) return "not_found";
    if (w.state === "queued") {
      await this.finish(w, {
        status: "cancelled",
        errorCode: "cancelled",
        errorMessage: "Cancelled before it started.",
      });
      await this.scheduleAlarm();
      return "cancelled";
    }
    if (w.state !== "cancelling") {
      this.store.markCancelling(messageId, Date.now());
      this.sendCancel(this.currentSocket(), w);
      await setMessageStatus(this.env, w.taskId, w.messageId, "cancelling");
      await this.announce(w, "cancelling");
      await this.scheduleAlarm();
    }
    return "cancelling";
  }

  private sendCancel(ws: WebSocket | null, w: Work): void {
    this.send(ws, {
      type: "task:cancel",
      taskId: w.taskId,
      messageId: w.messageId,
      reason: "Stopped by the user.",
    });
  }

  // --- what the Worker asks ------------------------------------------------------------------

  /** The reply so far of a running message (the final one is in D1). */
  async partial(
    messageId: string,
  ): Promise<{ text: string; lastSeq: number; queuePosition: number | null } | null> {
    const w = this.store.work(messageId);
    if (!w) return null;
    const position = this.store.queue().findIndex((q) => q.messageId === messageId);
    return {
      text: this.store.replyText(messageId),
      lastSeq: w.lastSeq,
      queuePosition: position >= 0 ? position + 1 : null,
    };
  }

  async rename(displayName: string): Promise<void> {
    this.store.setMeta({ displayName });
  }

  /**
   * Removes the device: refused while it is connected unless forced; a forced removal tells the
   * executor to stop (it must not re-register by itself).
   */
  async remove(force: boolean): Promise<{ ok: true } | { ok: false; status: string }> {
    const status = this.status();
    if (status !== "offline" && !force) return { ok: false, status };
    const ws = this.currentSocket();
    ws?.close(CloseCode.deviceRemoved, "This device was removed.");
    const removed = `Device ${this.deviceName()} was removed.`;
    for (const w of this.store.allWork()) {
      await this.finish(w, {
        status: "failed",
        errorCode: "device_removed",
        errorMessage: removed,
      });
    }
    const meta = this.store.getMeta();
    log({ event: "device.removed", ownerId: meta.ownerId, deviceId: meta.deviceId, forced: force });
    this.store.clearAll();
    await this.ctx.storage.deleteAlarm();
    return { ok: true };
  }

  /** Closes the socket if it was opened with this (now revoked) token. */
  async revokeToken(tokenId: string): Promise<boolean> {
    const meta = this.store.getMeta();
    const ws = this.currentSocket();
    if (!ws || meta.tokenId !== tokenId) return false;
    ws.close(CloseCode.tokenRevoked, "The API token of this device was revoked.");
    await this.socketGone("token revoked");
    return true;
  }

  // --- D1 write-through and live push ----------------------------------------------------------

  private async publishStatus(): Promise<void> {
    const meta = this.store.getMeta();
    if (!meta.ownerId || !meta.platform) return; // never registered
    const figures = this.figures();
    const key = JSON.stringify(figures);
    const now = Date.now();
    const changed = key !== meta.lastPublished;
    if (!changed && now - (meta.lastWrittenAt ?? 0) < DEVICE_ROW_REFRESH_MS) return;
    const device = await writeDeviceFigures(this.env, meta, figures);
    this.store.setMeta({ lastPublished: key, lastWrittenAt: now });
    if (changed) {
      log({
        event: "device.status",
        ownerId: meta.ownerId,
        deviceId: meta.deviceId,
        status: figures.status,
        slotsUsed: figures.slotsUsed,
      });
      if (device) this.live.push(meta.ownerId, { type: "device:status", device });
    }
  }

  // --- the one alarm ---------------------------------------------------------------------------

  private lastAlive(ws: WebSocket): number {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const pong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    // Any frame is a sign of life, not only pings and heartbeats.
    return Math.max(
      pong,
      attachment.connectedAt,
      this.store.getMeta().lastSeenAt ?? 0,
      this.lastFrameAt,
    );
  }

  private async scheduleAlarm(): Promise<void> {
    const meta = this.store.getMeta();
    const ws = this.currentSocket();
    const deadlines: number[] = [];
    if (ws) deadlines.push(this.lastAlive(ws) + this.pingTimeoutMs);
    const tokenExpiry = meta.tokenExpiresAt ? Date.parse(meta.tokenExpiresAt) : NaN;
    if (ws && Number.isFinite(tokenExpiry)) deadlines.push(tokenExpiry);
    if (!ws && meta.disconnectedAt !== null) deadlines.push(meta.disconnectedAt + this.graceMs);
    for (const w of this.store.slotHolders()) {
      if (ws && w.state === "dispatched" && w.dispatchedAt !== null) {
        deadlines.push(w.dispatchedAt + this.dispatchTimeoutMs);
      }
      if (w.state === "cancelling" && w.cancelRequestedAt !== null) {
        deadlines.push(w.cancelRequestedAt + CANCEL_TIMEOUT_MS);
      }
    }
    if (!(ws && meta.registered)) {
      for (const q of this.store.queue()) deadlines.push(this.queueDeadline(q));
    }
    if (deadlines.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Math.max(Math.min(...deadlines), Date.now() + 10));
  }

  private queueDeadline(q: Work): number {
    const meta = this.store.getMeta();
    const since = meta.offlineSince ?? meta.disconnectedAt ?? q.queuedAt;
    return Math.max(q.queuedAt, since) + this.queueTimeoutMs;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const ws = this.currentSocket();
    const expiresAt = this.store.getMeta().tokenExpiresAt;
    if (ws && expiresAt && Date.parse(expiresAt) <= now) {
      // A socket never outlives its token: the executor stops and says to generate a new one.
      ws.close(CloseCode.tokenExpired, `The API token of this device expired on ${expiresAt}.`);
      await this.socketGone("token expired");
    } else if (ws && now - this.lastAlive(ws) >= this.pingTimeoutMs) {
      ws.close(CloseCode.pingTimeout, "No ping within the timeout.");
      await this.socketGone("ping timeout");
    } else if (!ws && this.store.getMeta().connId) {
      await this.socketGone("socket vanished");
    }
    const meta = this.store.getMeta();
    if (!meta.connId && meta.disconnectedAt !== null && now >= meta.disconnectedAt + this.graceMs) {
      await this.graceExpired();
    }
    const live = this.currentSocket();
    for (const w of this.store.slotHolders()) {
      if (
        live &&
        w.state === "dispatched" &&
        w.dispatchedAt !== null &&
        now >= w.dispatchedAt + this.dispatchTimeoutMs
      ) {
        if (w.attempt < 2) this.dispatch(live, w, 2);
        else
          await this.finish(w, {
            status: "failed",
            errorCode: "dispatch_timeout",
            errorMessage: `Device ${this.deviceName()} did not accept the task in time.`,
          });
      }
      if (
        w.state === "cancelling" &&
        w.cancelRequestedAt !== null &&
        now >= w.cancelRequestedAt + CANCEL_TIMEOUT_MS
      ) {
        await this.finish(w, {
          status: "cancelled",
          errorCode: "cancelled",
          errorMessage: "Cancelled.",
        });
      }
    }
    if (!(live && this.store.getMeta().registered)) {
      for (const q of this.store.queue()) {
        if (now >= this.queueDeadline(q)) {
          await this.finish(q, {
            status: "failed",
            errorCode: "queue_timeout",
            errorMessage: `Device ${this.deviceName()} stayed offline; the task waited too long in its queue.`,
          });
        }
      }
    }
    await this.scheduleAlarm();
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
