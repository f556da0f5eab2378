import { backoffDelay, CloseCode, LiveFrame, parseFrame, PING, PONG } from "@wegent/protocol";

export interface LiveHandlers {
  onFrame: (frame: LiveFrame) => void;
  /** The channel cannot replay what we missed (or this is the first hello): refetch state. */
  onResync: () => void;
  onOpenChange: (open: boolean) => void;
  /** The server refused our session: stop and show the sign-in screen. */
  onUnauthorized: () => void;
}

export interface LiveOptions {
  /** Builds the socket; tests pass a fake. */
  createSocket?: (url: string) => WebSocket;
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
 * The browser's one WebSocket to its live channel. Remembers the highest `liveSeq` it saw and
 * reconnects with `?after=` so nothing is missed, backing off with jitter so a server restart
 * is not met by every tab at the same instant.
 */
export class LiveConnection {
  private socket: WebSocket | null = null;
  private lastSeq: number | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private readonly createSocket: (url: string) => WebSocket;
  private readonly random: () => number;
  private readonly pingIntervalMs: number;

  constructor(
    private readonly origin: string,
    private readonly handlers: LiveHandlers,
    options: LiveOptions = {},
  ) {
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url));
    this.random = options.random ?? Math.random;
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
  }

  get highestSeq(): number | null {
    return this.lastSeq;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "bye");
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = this.createSocket(liveUrl(this.origin, this.lastSeq));
    this.socket = socket;
    socket.addEventListener("message", (event: MessageEvent) => {
      if (socket === this.socket) this.receive(event.data);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.stopPing();
      this.handlers.onOpenChange(false);
      if (event.code === CloseCode.unauthorized) {
        this.stopped = true;
        this.handlers.onUnauthorized();
        return;
      }
      this.scheduleReconnect();
    });
    // An error is always followed by a close; the close handler does the work.
    socket.addEventListener("error", () => undefined);
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
      this.attempt = 0;
      this.startPing();
      this.handlers.onOpenChange(true);
      // After a reset the channel's numbering is the truth again, even if it went backwards.
      if (frame.reset || first) this.lastSeq = frame.liveSeq;
      if (frame.reset || first) this.handlers.onResync();
      return;
    }
    this.lastSeq = Math.max(this.lastSeq ?? 0, frame.liveSeq);
    this.handlers.onFrame(frame);
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, {
      baseMs: BACKOFF_BASE_MS,
      capMs: BACKOFF_MAX_MS,
      random: this.random,
    });
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
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
