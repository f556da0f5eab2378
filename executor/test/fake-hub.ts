// A tiny stand-in for the DeviceHub, speaking the real protocol on 127.0.0.1, so the executor's
// connection, outbox and task manager can be tested without the Worker or Claude.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import {
  ExecutorFrame,
  PING,
  PONG,
  parseFrame,
  type DeviceRegistered,
  type HubFrame,
} from "@wegent/protocol";

export interface Upgrade {
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Received {
  connection: number;
  frame: ExecutorFrame;
}

export class FakeHub {
  readonly upgrades: Upgrade[] = [];
  readonly received: Received[] = [];
  readonly pings: number[] = [];
  readonly closes: { connection: number; code: number }[] = [];
  /** Answer the next upgrades with this HTTP status and JSON body instead of accepting. */
  refuse: { status: number; body: unknown } | null = null;
  /** Answer `ping` with `pong` (the runtime's auto-response). */
  answerPings = true;
  /** Acknowledge each output frame as soon as it is stored. */
  autoAck = true;
  /** Fields of `device:registered` the test wants to control. */
  registered: Partial<DeviceRegistered> = {};
  /** Last stored seq per message, the way the real hub keeps its log. */
  readonly stored = new Map<string, { taskId: string; lastSeq: number; ended: boolean }>();
  current: WebSocket | null = null;
  private connections = 0;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private waiters: (() => void)[] = [];

  private constructor(server: Server) {
    this.server = server;
  }

  /** Answers plain HTTP requests (credential exchange, pairing); unanswered ones get 404. */
  http: ((request: IncomingMessage, response: ServerResponse) => boolean) | null = null;

  static async start(): Promise<FakeHub> {
    let hub: FakeHub | null = null;
    const server = createServer((request, response) => {
      if (hub?.http?.(request, response)) return;
      response.statusCode = 404;
      response.end();
    });
    hub = new FakeHub(server);
    const started = hub;
    server.on("upgrade", (request, socket, head) => started.upgrade(request, socket, head));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return started;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Frames of one type, in arrival order. */
  framesOf<T extends ExecutorFrame["type"]>(type: T): Extract<ExecutorFrame, { type: T }>[] {
    return this.received
      .map((entry) => entry.frame)
      .filter((frame): frame is Extract<ExecutorFrame, { type: T }> => frame.type === type);
  }

  /** Output frames (progress, complete, failed) of one message, with the connection that carried them. */
  /** A batch counts as its events, each as a `task:progress`. */
  outputOf(messageId: string): { connection: number; seq: number; type: string }[] {
    return this.received.flatMap((entry) => {
      const frame = entry.frame;
      if (frame.type === "task:progress-batch" && frame.messageId === messageId) {
        return frame.events.map((e) => ({
          connection: entry.connection,
          seq: e.seq,
          type: "task:progress",
        }));
      }
      if (
        (frame.type === "task:progress" ||
          frame.type === "task:complete" ||
          frame.type === "task:failed") &&
        frame.messageId === messageId
      ) {
        return [{ connection: entry.connection, seq: frame.seq, type: frame.type }];
      }
      return [];
    });
  }

  get connectionCount(): number {
    return this.connections;
  }

  send(frame: HubFrame): void {
    this.current?.send(JSON.stringify(frame));
  }

  /** Waits until `check` holds, re-checking after every event; fails after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Drops the current socket without a close frame (a network cut). */
  cut(): void {
    this.current?.terminate();
  }

  closeCurrent(code: number, reason = ""): void {
    this.current?.close(code, reason);
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrades.push({ url: request.url ?? "", headers: request.headers });
    this.notify();
    if (this.refuse) {
      const body = JSON.stringify(this.refuse.body);
      socket.end(
        `HTTP/1.1 ${this.refuse.status} Refused\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    this.connections += 1;
    const connection = this.connections;
    this.current = ws;
    ws.on("close", (code) => {
      this.closes.push({ connection, code });
      if (this.current === ws) this.current = null;
      this.notify();
    });
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === PING) {
        this.pings.push(connection);
        if (this.answerPings) ws.send(PONG);
        this.notify();
        return;
      }
      const parsed = parseFrame(ExecutorFrame, text);
      if (!parsed.ok) throw new Error(`executor sent a bad frame: ${parsed.message}: ${text}`);
      this.received.push({ connection, frame: parsed.frame });
      this.onFrame(ws, parsed.frame);
      this.notify();
    });
  }

  private onFrame(ws: WebSocket, frame: ExecutorFrame): void {
    if (frame.type === "device:register") {
      const resume = [...this.stored.entries()]
        .filter(([, entry]) => !entry.ended)
        .map(([messageId, entry]) => ({ taskId: entry.taskId, messageId, lastSeq: entry.lastSeq }));
      const registered: DeviceRegistered = {
        type: "device:registered",
        deviceId: frame.deviceId,
        name: frame.name,
        pingIntervalMs: 10_000,
        heartbeatIntervalMs: 30_000,
        resume,
        tokenExpiresAt: null,
        ...this.registered,
      };
      ws.send(JSON.stringify(registered));
      return;
    }
    if (frame.type === "task:accepted") {
      if (!this.stored.has(frame.messageId)) {
        this.stored.set(frame.messageId, { taskId: frame.taskId, lastSeq: 0, ended: false });
      }
      return;
    }
    if (
      frame.type === "task:progress" ||
      frame.type === "task:progress-batch" ||
      frame.type === "task:complete" ||
      frame.type === "task:failed"
    ) {
      const entry = this.stored.get(frame.messageId) ?? {
        taskId: frame.taskId,
        lastSeq: 0,
        ended: false,
      };
      this.stored.set(frame.messageId, entry);
      // Store only the next frame in order, like the real hub's log.
      const seqs =
        frame.type === "task:progress-batch" ? frame.events.map((e) => e.seq) : [frame.seq];
      for (const seq of seqs) if (seq === entry.lastSeq + 1) entry.lastSeq = seq;
      if (frame.type === "task:complete" || frame.type === "task:failed") {
        if (entry.lastSeq === frame.seq) entry.ended = true;
      }
      if (this.autoAck) {
        ws.send(
          JSON.stringify({
            type: "task:ack",
            taskId: frame.taskId,
            messageId: frame.messageId,
            seq: entry.lastSeq,
          }),
        );
      }
    }
  }
}
