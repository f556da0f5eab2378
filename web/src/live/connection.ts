import { CloseCode, type LiveFocus, LiveFrame, parseFrame, PING, PONG } from "@wegent/protocol";
import ReconnectingWebSocket from "partysocket/ws";

export interface LiveHandlers {
  onFrame: (frame: LiveFrame) => void;
  /** The channel cannot replay what we missed (or this is the first hello): refetch state. */
  onResync: () => void;
  onOpenChange: (open: boolean) => void;
  /** The server refused our session: stop and show the sign-in screen. */
  onUnauthorized: () => void;
}

export interface LiveOptions {
  /** The WebSocket class; tests pass a fake. */
  WebSocket?: typeof WebSocket;
  pingIntervalMs?: number;
  random?: () => number;
}

const PING_INTERVAL_MS = 20_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;

/** The URL of the live channel on this origin, resuming after `after` when we have one. */
export function liveUrl(origin: string, after: number | null): string {
  const url = new URL("/api/live", origin);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null) url.searchParams.set("after", String(after));
  return url.toString();
}

/**
 * The browser's one WebSocket to its live channel, a partysocket `ReconnectingWebSocket`.
 * Remembers the highest `liveSeq` it saw and reconnects with `?after=` (the URL is rebuilt for
 * every attempt) so nothing is missed. partysocket backs off exponentially; each tab's first
 * delay is jittered so a server restart is not met by every tab at the same instant. A close
 * with "unauthorized" stops it: the session is gone.
 */
export class LiveConnection {
  private socket: ReconnectingWebSocket | null = null;
  private lastSeq: number | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly WebSocketClass: typeof WebSocket | undefined;
  private readonly random: () => number;
  private readonly pingIntervalMs: number;
  /** What this tab shows, told to the channel on every (re)connect and change (push hold-back). */
  private focus: LiveFocus | null = null;

  constructor(
    private readonly origin: string,
    private readonly handlers: LiveHandlers,
    options: LiveOptions = {},
  ) {
    this.WebSocketClass = options.WebSocket;
    this.random = options.random ?? Math.random;
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
  }

  get highestSeq(): number | null {
    return this.lastSeq;
  }

  start(): void {
    this.stop();
    const socket = new ReconnectingWebSocket(() => liveUrl(this.origin, this.lastSeq), undefined, {
      WebSocket: this.WebSocketClass,
      minReconnectionDelay: BACKOFF_BASE_MS * (1 + this.random()),
      maxReconnectionDelay: BACKOFF_MAX_MS,
      reconnectionDelayGrowFactor: 2,
      shouldReconnectOnClose: (event) => event.code !== CloseCode.unauthorized,
    });
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.stopPing();
      this.handlers.onOpenChange(false);
      if (event.code === CloseCode.unauthorized) {
        this.stop();
        this.handlers.onUnauthorized();
      }
    });
  }

  /** Tells the channel what the tab shows now (and again after each reconnect). */
  reportFocus(focus: LiveFocus): void {
    this.focus = focus;
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify(focus));
  }

  stop(): void {
    this.stopPing();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "bye");
  }

  private receive(data: unknown): void {
    if (data === PONG) return;
    const parsed = parseFrame(LiveFrame, typeof data === "string" ? data : new ArrayBuffer(0));
    if (!parsed.ok) {
      console.warn("live: ignored a frame", parsed.code, parsed.message);
      return;
    }
    const frame = parsed.frame;
    if (frame.type === "live:hello") {
      const first = this.lastSeq === null;
      this.startPing();
      this.handlers.onOpenChange(true);
      if (this.focus) this.socket?.send(JSON.stringify(this.focus));
      // After a reset the channel's numbering is the truth again, even if it went backwards.
      if (frame.reset || first) this.lastSeq = frame.liveSeq;
      if (frame.reset || first) this.handlers.onResync();
      return;
    }
    this.lastSeq = Math.max(this.lastSeq ?? 0, frame.liveSeq);
    this.handlers.onFrame(frame);
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (this.socket?.readyState === 1) this.socket.send(PING);
    }, this.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
