// A protocol-level executor: a bare `ws` socket to /api/devices/connect that speaks the frames
// of @wegent/protocol. It measures the platform, not Claude Code.
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import {
  PING,
  type ExecutorFrame,
  type HubFrame,
  HubFrame as HubFrameSchema,
  parseFrame,
  type TaskComplete,
} from "@wegent/protocol";

export interface DeviceOptions {
  origin: string;
  token: string;
  deviceId?: string;
  maxSlots?: number;
  /** Answer every task:execute with task:accepted (default true). */
  autoAccept?: boolean;
  /** After accepting, finish at once with task:complete (default false). */
  autoComplete?: boolean;
}

type Waiter = { match: (f: HubFrame) => boolean; resolve: (f: HubFrame) => void };

/** A task's end as the executor's outbox takes it (the outbox numbers it). */
export function outboxDone(taskId: string, messageId: string, text: string) {
  return {
    type: "task:complete" as const,
    taskId,
    messageId,
    text,
    sessionId: null,
    usage: null,
    costUsd: null,
  };
}

/** A task's end as a device sends it: `seq` after `seq - 1` output events, with `text`. */
export function doneFrame(taskId: string, messageId: string, seq = 1, text = "done"): TaskComplete {
  return {
    type: "task:complete",
    taskId,
    messageId,
    seq,
    text,
    sessionId: null,
    usage: null,
    costUsd: null,
  };
}

export class ProtocolDevice {
  readonly deviceId: string;
  ws: WebSocket | null = null;
  frames: HubFrame[] = [];
  /** Raw text frames that were not JSON hub frames (e.g. `pong`). */
  texts: string[] = [];
  closeCode: number | null = null;
  closedAt: number | null = null;
  onFrame: ((f: HubFrame, at: number) => void) | null = null;
  onText: ((t: string, at: number) => void) | null = null;
  running = new Set<string>();
  private waiters: Waiter[] = [];
  private readonly keep: boolean;

  constructor(
    readonly options: DeviceOptions,
    keepFrames = true,
  ) {
    this.deviceId = options.deviceId ?? `bench${randomUUID().replace(/-/g, "").slice(0, 20)}`;
    this.keep = keepFrames;
  }

  /** Opens the socket; rejects with the HTTP status on a refused upgrade. */
  async connect(timeoutMs = 15_000): Promise<void> {
    const url = `${this.options.origin.replace(/^http/, "ws")}/api/devices/connect`;
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.options.token}`, "X-Device-Id": this.deviceId },
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    this.ws = ws;
    this.closeCode = null;
    this.closedAt = null;
    ws.on("message", (data, isBinary) => {
      const at = performance.now();
      const text = isBinary ? "" : String(data);
      const parsed = parseFrame(HubFrameSchema, text);
      if (!parsed.ok) {
        this.texts.push(text);
        this.onText?.(text, at);
        return;
      }
      const frame = parsed.frame;
      if (this.keep) this.frames.push(frame);
      this.handle(frame);
      this.onFrame?.(frame, at);
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    // The protocol asks for a ping every 10 s; without it the hub declares the socket lost after
    // its 25 s ping timeout, however busy the socket is with task frames.
    const keepAlive = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(PING);
    }, 10_000);
    ws.on("close", (code) => {
      clearInterval(keepAlive);
      if (this.ws === ws) {
        this.closeCode = code;
        this.closedAt = performance.now();
      }
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
      );
      ws.once("error", reject);
    });
  }

  private handle(frame: HubFrame): void {
    if (frame.type === "task:execute") {
      if (this.options.autoAccept !== false) {
        this.send({ type: "task:accepted", taskId: frame.taskId, messageId: frame.messageId });
      }
      if (this.options.autoComplete) {
        this.send(doneFrame(frame.taskId, frame.messageId));
      } else {
        this.running.add(frame.taskId);
      }
    }
    if (frame.type === "task:cancel") this.running.delete(frame.taskId);
  }

  /** Ends a task it runs (no output before) and waits for the hub's ack of the end. */
  async complete(taskId: string, messageId: string): Promise<void> {
    this.running.delete(taskId);
    this.send(doneFrame(taskId, messageId));
    await this.waitFor((f) => f.type === "task:ack" && f.messageId === messageId, 10_000);
  }

  send(frame: ExecutorFrame | Record<string, unknown>): void {
    this.sendRaw(JSON.stringify(frame));
  }

  sendRaw(text: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  async register(runningTaskIds: string[] = [], timeoutMs = 15_000) {
    const done = this.waitFor((f) => f.type === "device:registered", timeoutMs);
    this.send({
      type: "device:register",
      deviceId: this.deviceId,
      name: `bench ${this.deviceId.slice(-6)}`,
      platform: "linux",
      executorVersion: "0.0.0-bench",
      maxSlots: this.options.maxSlots ?? 5,
      deviceType: "local",
      runtimes: ["claude-code"],
      runningTaskIds,
    });
    return done;
  }

  waitFor(match: (f: HubFrame) => boolean, timeoutMs = 10_000): Promise<HubFrame> {
    const have = this.keep ? this.frames.find(match) : undefined;
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`device ${this.deviceId}: no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves with the close code once the socket is closed (or null on timeout). */
  async closed(timeoutMs: number): Promise<number | null> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.closeCode !== null) return this.closeCode;
      await new Promise((r) => setTimeout(r, 20));
    }
    return null;
  }

  close(code = 1000): void {
    this.ws?.close(code, "bench");
  }

  /** Drops the TCP connection without a close frame (a crash, as the hub sees it). */
  destroy(): void {
    this.ws?.terminate();
  }
}

export async function connectDevice(options: DeviceOptions): Promise<ProtocolDevice> {
  const device = new ProtocolDevice(options);
  await device.connect();
  await device.register();
  return device;
}
