import {
  availabilityText,
  CloseCode,
  type TaskStatus,
  type DeviceMethod,
  type DeviceParams,
  ExecutorFrame,
  parseFrame,
  PING,
  PONG,
} from "@wegent/protocol";
import { type ConnectionContext, Server } from "partyserver";
import { log } from "../../edge/log";
import { isWebSocketUpgrade } from "../../edge/websocket";
import { type HubPartial, HUB_HEADERS, type SubmitRequest, type SubmitResult } from "../contract";
import { LiveOutbox } from "../live-outbox";
import {
  type WorkspaceAnswer,
  type WorkspaceAsk,
  workspaceAnswer,
  workspaceSpan,
} from "./archives";
import { finishMessage, setMessageStatus, takeUserMessage } from "./catalogue";
import { deadlineHost } from "./deadline-host";
import { executorFrame } from "./frames";
import { type DeadlineHost, deadlineTable, nextAlarm, timings } from "./deadlines";
import { OutputLog } from "./output-log";
import { Presence } from "./presence";
import {
  type DeviceAnswer,
  MAX_DEVICE_REQUEST_MS,
  MAX_PENDING_REQUESTS,
  PendingRequests,
} from "./requests";
import { Slots } from "./slots";
import {
  EXECUTOR_TAG,
  type ExecutorSocket,
  linkTo,
  sendFrame,
  type SocketState,
  strike,
} from "./socket";
import { HubStore } from "./store";
import { InputDesk } from "./input-desk";
import { type Kept, WriteBehind } from "./write-behind";
import { pendingKey, type PendingWrite, PendingWrites } from "./pending-writes";
import type { AnswerTarget } from "./input-answers";
import { type HubMeters, Meter } from "../meters";
import { type Tracer, tracerFor } from "../../edge/telemetry/tracer";
import { metricsFor } from "../../edge/telemetry/metrics";

const MAX_STRIKES = 10;

/**
 * One per device: the Durable Object surface (the executor's socket, the Worker's RPC methods,
 * the one alarm). The rules live in Presence, Slots (slots, queue, dispatch), OutputLog and the
 * deadline table. All state is in the object's SQLite, so hibernation and eviction lose nothing.
 *
 * Built on partyserver's `Server` (the design card's partykit): hibernatable sockets, named and
 * tagged connections with state; the hub keeps the ping auto-response, one alarm, its SQLite.
 */
export class DeviceHub extends Server<Env> {
  static override options = { hibernate: true };

  private readonly store: HubStore;
  private readonly output: OutputLog;
  private readonly slots: Slots;
  private readonly presence: Presence;
  private readonly inputs: InputDesk;
  private readonly meter: Meter;
  /** This hub's D1 writes, in order (write-behind.ts). */
  private readonly writes: WriteBehind;
  /** Written-behind D1 writes that gave up, retried by the alarm (pending-writes.ts). */
  private readonly pending: PendingWrites;
  /** Last frame from the current socket (memory only: it matters within one ping timeout). */
  private lastFrameAt = 0;
  /** Device RPC requests waiting for their answer (memory only; see requests.ts). */
  private readonly requests = new PendingRequests();
  private readonly tracer: Tracer;

  constructor(ctx: DurableObjectState, unmetered: Env) {
    // With BENCH_METERS=1 (the bench) D1 and SQLite work is counted; otherwise as it is.
    const meter = new Meter(unmetered);
    const env = meter.env(unmetered);
    super(ctx, env);
    this.meter = meter;
    // Their save is a row of the deadline table; scheduling it is not the hub's counted work.
    meter.persistIn(ctx.storage, () => void this.scheduleAlarm(true));
    const sql = meter.sql(ctx.storage.sql);
    this.store = new HubStore(sql);
    const keepAlive = (work: Promise<unknown>) => ctx.waitUntil(work);
    this.tracer = tracerFor(unmetered, keepAlive);
    const live = new LiveOutbox(env, keepAlive);
    this.output = new OutputLog(sql, (fn) => ctx.storage.transactionSync(fn));
    const writes = new WriteBehind(keepAlive);
    this.writes = writes;
    this.pending = new PendingWrites(sql);
    const kept = (write: PendingWrite): Kept => ({
      done: () => this.pending.drop(pendingKey(write)),
      gaveUp: async () => {
        this.pending.keep(write);
        await this.scheduleAlarm();
      },
    });
    const executor = () => {
      const ws = this.currentSocket();
      return ws ? linkTo(ws) : null;
    };
    this.slots = new Slots(this.store, this.output, {
      executor,
      setMessageStatus: (w, status) =>
        writes.behind(
          "message status",
          () => setMessageStatus(env, w.taskId, w.messageId, status),
          kept({ kind: "message_status", taskId: w.taskId, messageId: w.messageId, status }),
        ),
      finishMessage: (w, end) =>
        writes.then(() => finishMessage(env, w.ownerId, w.taskId, w.messageId, end)),
      messageTaken: (w, userMessageId) =>
        writes.behind("message taken", () => takeUserMessage(env, w.taskId, userMessageId)),
      push: live.push.bind(live),
      publishStatus: () => this.presence.publishBehind(),
      messageEnded: (w) => this.inputs.ended(w),
      tracer: this.tracer,
      metrics: metricsFor(unmetered, keepAlive),
    });
    this.inputs = new InputDesk(sql, {
      executor,
      // A message whose final write is on its way takes no more answers.
      work: (messageId) => (this.slots.isEnding(messageId) ? null : this.store.work(messageId)),
      setMessageStatus: (w, status) =>
        writes.then(() => setMessageStatus(env, w.taskId, w.messageId, status)),
      push: live.push.bind(live),
      timeoutMs: () => timings(env).inputTimeoutMs,
      recordAnswer: (messageId, block) =>
        this.output.recordAnswer(messageId, this.store.work(messageId)?.lastSeq ?? 0, block),
    });
    this.presence = new Presence(
      env,
      this.store,
      this.slots,
      live,
      writes,
      kept({ kind: "device_status" }),
    );
    // The runtime answers the executor's pings itself: presence costs no wake-ups.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // --- the executor's socket ------------------------------------------------------------------

  /** Checks the identity the Worker set before partyserver accepts the socket. */
  override async fetch(request: Request): Promise<Response> {
    this.meter.request();
    if (!isWebSocketUpgrade(request)) {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    if (!request.headers.get(HUB_HEADERS.owner) || !request.headers.get(HUB_HEADERS.device)) {
      return new Response("missing identity", { status: 400 });
    }
    return super.fetch(request);
  }

  override getConnectionTags(): string[] {
    return [EXECUTOR_TAG];
  }

  override async onConnect(connection: ExecutorSocket, { request }: ConnectionContext) {
    const ownerId = request.headers.get(HUB_HEADERS.owner) ?? "";
    const deviceId = request.headers.get(HUB_HEADERS.device) ?? "";
    const type = request.headers.get(HUB_HEADERS.deviceType) === "cloud" ? "cloud" : "local";

    // A second connection with this device id replaces the first: never two task receivers.
    const previous = this.currentSocket();
    if (previous)
      previous.close(CloseCode.replaced, "Another wegent-executor with this device id connected.");

    connection.setState({ connectedAt: Date.now(), strikes: 0 });
    this.store.setMeta({
      ownerId,
      deviceId,
      type,
      connId: connection.id,
      registered: false,
      draining: false,
      tokenId: request.headers.get(HUB_HEADERS.tokenId),
      tokenExpiresAt: request.headers.get(HUB_HEADERS.tokenExpiresAt),
    });
    if (previous) log({ event: "device.registered", ownerId, deviceId, replaced: true });
    await this.scheduleAlarm();
  }

  override async onMessage(ws: ExecutorSocket, message: string | ArrayBuffer): Promise<void> {
    this.meter.wsIn();
    const meta = this.store.getMeta();
    if (ws.id !== meta.connId) {
      ws.close(CloseCode.replaced, "This connection was replaced.");
      return;
    }
    this.lastFrameAt = Date.now();
    const parsed = parseFrame(ExecutorFrame, message);
    if (!parsed.ok) {
      const strikes = strike(ws);
      const { ownerId, deviceId } = meta;
      log({ event: "device.bad_frame", ownerId, deviceId, code: parsed.code, strikes }, "warn");
      sendFrame(ws, { type: "error", code: parsed.code, message: parsed.message });
      if (strikes >= MAX_STRIKES) {
        ws.close(CloseCode.protocolAbuse, "Too many malformed frames.");
        await this.socketGone("protocol abuse");
      }
      return;
    }
    const frame = parsed.frame;
    if (!meta.registered && frame.type !== "device:register") {
      sendFrame(ws, {
        type: "error",
        code: "not_registered",
        message: "Send device:register first.",
      });
      return;
    }
    await executorFrame(
      {
        store: this.store,
        slots: this.slots,
        presence: this.presence,
        inputs: this.inputs,
        meter: this.meter,
        requests: this.requests,
        scheduleAlarm: () => this.scheduleAlarm(),
      },
      ws,
      frame,
    );
  }

  // partyserver answers the peer's close itself (1005/1006 become 1000).
  override async onClose(ws: ExecutorSocket, code: number): Promise<void> {
    if (ws.id === this.store.getMeta().connId) await this.socketGone(`closed with ${code}`);
  }

  override async onError(ws: ExecutorSocket): Promise<void> {
    if (ws.id === this.store.getMeta().connId) await this.socketGone("socket error");
  }

  /** The socket that may receive tasks (the one `connId` names), if it is still open. */
  private currentSocket(): ExecutorSocket | null {
    const connId = this.store.getMeta().connId;
    if (!connId) return null;
    for (const ws of this.getConnections<SocketState>(EXECUTOR_TAG)) {
      if (ws.id === connId) return ws;
    }
    return null;
  }

  private async socketGone(reason: string): Promise<void> {
    if (await this.lost(reason)) await this.scheduleAlarm();
  }

  /** The socket is gone: nobody will answer the requests in flight; presence takes over. */
  private lost(reason: string): Promise<boolean> {
    this.requests.failAll(`Device ${this.slots.deviceName()} disconnected.`);
    return this.presence.socketGone(reason);
  }

  // --- what the Worker asks ------------------------------------------------------------------

  status() {
    return this.slots.status();
  }

  /** Queues a message of a task on this device, and dispatches it at once if a slot is free. */
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    this.meter.request();
    const result = await this.slots.submit(request);
    if (result.ok) await this.scheduleAlarm();
    return result;
  }

  /** Cancels a message of `ownerId`: a queued one at once, a running one on the device. */
  async cancel(
    messageId: string,
    ownerId: string,
  ): Promise<"cancelled" | "cancelling" | "ending" | "not_found"> {
    this.meter.request();
    const before = this.store.work(messageId);
    const result = await this.slots.cancel(messageId, ownerId);
    if (result === "cancelled" || (result === "cancelling" && before?.state !== "cancelling")) {
      await this.scheduleAlarm();
    }
    return result;
  }

  /** The reply so far of a running message (the final one is in D1), and its open requests. */
  async partial(messageId: string): Promise<HubPartial | null> {
    this.meter.request();
    const partial = this.slots.partial(messageId);
    return partial ? { ...partial, pendingInput: this.inputs.pending(messageId) } : null;
  }

  /** The user's answer to a request of the agent; a 4xx (changing nothing) when it cannot be. */
  async answerInput(target: AnswerTarget) {
    this.meter.request();
    const result = await this.inputs.answer(target);
    if (!result.ok) return result;
    await this.scheduleAlarm();
    return { ok: true as const, outcome: result.outcome };
  }

  /**
   * Asks the connected executor something (the generic device RPC) and waits for its answer, at
   * most `timeoutMs`. The Worker (callDevice) checks the method's params and result; the
   * executor checks them again and answers exactly once.
   */
  async request<M extends DeviceMethod>(
    method: M,
    params: DeviceParams<M>,
    timeoutMs: number,
    traceparent?: string,
  ): Promise<DeviceAnswer> {
    const ws = this.currentSocket();
    if (!ws || !this.store.getMeta().registered) {
      return {
        ok: false,
        code: "device_offline",
        message: `Device ${availabilityText(this.slots.deviceName(), this.slots.status() === "reconnecting" ? "reconnecting" : "offline")}`,
      };
    }
    if (this.requests.size >= MAX_PENDING_REQUESTS) {
      return { ok: false, code: "timeout", message: "The device is busy answering; try again." };
    }
    const requestId = crypto.randomUUID();
    const answer = this.requests.wait(
      requestId,
      Math.min(Math.max(timeoutMs, 100), MAX_DEVICE_REQUEST_MS),
    );
    sendFrame(ws, {
      type: "device:request",
      requestId,
      method,
      params,
      ...(traceparent ? { traceparent } : {}),
    });
    // Its timeout is a row of the deadline table: the alarm ends it if no answer came.
    await this.scheduleAlarm();
    return answer;
  }

  /** The owner's capabilities changed: send them now if the device is here (else on register). */
  async pushCapabilities(): Promise<void> {
    const ws = this.currentSocket();
    if (ws && this.store.getMeta().registered) await this.presence.syncCapabilities(ws);
  }

  /** The owner's limit on parallel tasks for this device (1-5). */
  async setSlotLimit(limit: number): Promise<void> {
    await this.presence.setSlotLimit(limit);
    await this.scheduleAlarm();
  }

  /**
   * Relays a workspace request (archive / restore / cleanup) to the executor and awaits it;
   * `traceparent`: the Worker's request span (an archive or restore is a span of the hub's,
   * and its context rides on `device:request` to the executor's span).
   */
  async workspace(
    ask: WorkspaceAsk,
    timeoutMs: number,
    traceparent?: string,
  ): Promise<WorkspaceAnswer> {
    const { method, ...params } = ask;
    const span = workspaceSpan(this.tracer, ask, traceparent);
    const answer = workspaceAnswer(
      await this.request(method, params as never, timeoutMs, span?.traceparent),
    );
    span?.end(answer);
    return answer;
  }

  async rename(displayName: string): Promise<void> {
    this.meter.request();
    this.store.setMeta({ displayName });
  }

  /**
   * Removes the device: refused while it is connected unless forced; a forced removal tells the
   * executor to stop (it must not re-register by itself).
   */
  async remove(force: boolean): Promise<{ ok: true } | { ok: false; status: string }> {
    this.meter.request();
    const status = this.slots.status();
    if (status !== "offline" && !force) return { ok: false, status };
    this.currentSocket()?.close(CloseCode.deviceRemoved, "This device was removed.");
    const removed = `Device ${this.slots.deviceName()} was removed.`;
    for (const w of this.store.allWork()) {
      await this.slots.finish(w, {
        status: "failed",
        errorCode: "device_removed",
        errorMessage: removed,
      });
    }
    const meta = this.store.getMeta();
    log({ event: "device.removed", ownerId: meta.ownerId, deviceId: meta.deviceId, forced: force });
    this.store.clearAll();
    this.output.clear();
    this.inputs.clear();
    this.pending.clear();
    await this.ctx.storage.deleteAlarm();
    return { ok: true };
  }

  /** Closes the socket if it was opened with this (now revoked) token. */
  async revokeToken(tokenId: string): Promise<boolean> {
    this.meter.request();
    const meta = this.store.getMeta();
    const ws = this.currentSocket();
    if (!ws || meta.tokenId !== tokenId) return false;
    ws.close(CloseCode.tokenRevoked, "The API token of this device was revoked.");
    await this.socketGone("token revoked");
    return true;
  }

  /** What this hub did (BENCH_METERS=1 only; zeros otherwise). Not itself counted. */
  async meters(): Promise<HubMeters> {
    return this.meter.snapshot();
  }

  // --- the one alarm: both read the deadline table -------------------------------------------

  /** Sets the one alarm to the table's earliest row; `uncounted`: for the meters' own upkeep. */
  private async scheduleAlarm(uncounted = false): Promise<void> {
    const table = () => deadlineTable(this.deadlineHost());
    const at = nextAlarm(uncounted ? this.meter.uncounted(table) : table(), Date.now());
    if (at === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    // Bench only: an alarm that rang just to save the meters is their upkeep, not counted work.
    const saveAt = this.meter.saveAt;
    if (saveAt !== null && saveAt <= now) {
      const due = this.meter.uncounted(() =>
        deadlineTable(this.deadlineHost()).filter((d) => d.at <= now),
      );
      if (due.every((d) => d.name === "meters")) {
        this.meter.save();
        await this.scheduleAlarm(true);
        return;
      }
    }
    this.meter.request();
    // Each firing changes the state it was computed from; the bound only guards against a bug.
    for (let i = 0; i < 10_000; i++) {
      const due = deadlineTable(this.deadlineHost()).find((d) => d.at <= now);
      if (!due) break;
      await due.fire();
    }
    await this.scheduleAlarm();
  }

  private deadlineHost(): DeadlineHost {
    return deadlineHost({
      env: this.env,
      store: this.store,
      slots: this.slots,
      presence: this.presence,
      inputs: this.inputs,
      socket: this.currentSocket(),
      ctx: this.ctx,
      lastFrameAt: this.lastFrameAt,
      lost: (reason) => this.lost(reason),
      retryAt: this.pending.nextAt(),
      retryWrites: () => this.retryWrites(),
      requests: this.requests,
      meter: this.meter,
    });
  }

  /**
   * The alarm's `d1_retry`: each kept write that is due is tried again, in the hub's order of
   * writes; one D1 takes is dropped, one it refuses again waits longer. A message status is
   * not written once its message ended (its final write carried the task's status).
   */
  private async retryWrites(): Promise<void> {
    for (const due of this.pending.due()) {
      const { write } = due;
      try {
        if (write.kind === "device_status") {
          await this.presence.publishStatus();
        } else if (this.store.work(write.messageId)) {
          const status = write.status as TaskStatus;
          await this.writes.then(() =>
            setMessageStatus(this.env, write.taskId, write.messageId, status),
          );
        }
        this.pending.drop(due.key);
        log({ event: "hub.write_retried", label: due.key, failures: due.failures });
      } catch (error) {
        this.pending.failed(due.key);
        const message = String(error);
        log({ event: "hub.write_failed", label: due.key, message }, "warn");
      }
    }
  }
}
