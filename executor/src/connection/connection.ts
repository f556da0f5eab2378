import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import {
  ApiError,
  CloseCode,
  HubFrame,
  PING,
  PONG,
  TERMINAL_CLOSE_CODES,
  parseFrame,
  type ExecutorFrame,
} from "@wegent/protocol";
import { reconnectDelay } from "@wegent/protocol";
import type { Logger } from "../log";
import { metrics } from "../telemetry";

export interface ConnectionTimings {
  /** How often to send the `ping` text; the hub's runtime answers `pong` without waking it. */
  pingIntervalMs: number;
  /** Silence (no pong, no frame) after which the socket is declared dead and replaced. */
  pongTimeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** The first redial after a going-away close (a deploy) waits uniformly up to this long. */
  reconnectSpreadMs: number;
  /** …and up to this long after a `1006` (a restart, or this machine's network blip). */
  reconnectBlipSpreadMs: number;
  /** Retries of a fresh outage wait at most this long (a restart is over in seconds)… */
  outageCapMs: number;
  /** …for this long after the link went down; then up to `backoffCapMs`. */
  outageFastMs: number;
  handshakeTimeoutMs: number;
}

/** Why the executor must stop for good (exit code and what to tell the user). */
export interface StopReason {
  exitCode: number;
  message: string;
}

export interface ConnectionEvents {
  /** The socket is open: time to register. */
  onOpen(): void;
  onFrame(frame: HubFrame): void;
  /** The socket closed; a reconnect is scheduled. */
  onDown(): void;
  /** The backend refused this executor for good (token, removed device, replaced). */
  onTerminal(reason: StopReason): void;
}

/** What to connect with, asked before every dial (see security/device-auth.ts). */
export type Authorize = () => Promise<
  | { kind: "bearer"; bearer: string }
  | { kind: "retry"; reason: string }
  | { kind: "terminal"; exitCode: number; message: string }
>;

export interface ConnectionOptions {
  backendUrl: string;
  token: string;
  /** Rotates the device credential before each dial; without it, `token` is used as is. */
  authorize?: Authorize;
  /** A 401 at upgrade: a better message than the token one, or null. */
  refused?: (code: string, serverMessage: string) => StopReason | null;
  deviceId: string;
  timings: ConnectionTimings;
  log: Logger;
  random?: () => number;
}

/** `http(s)://host/base` → `ws(s)://host/base/api/devices/connect`. */
export function connectUrl(backendUrl: string): string {
  const url = new URL(backendUrl);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  url.pathname = url.pathname.replace(/\/+$/, "") + "/api/devices/connect";
  url.search = "";
  url.hash = "";
  return url.toString();
}

/**
 * One long-lived link to the device's hub: dials, keeps it alive with pings, and redials with
 * backoff after anything short of a refusal the user has to fix.
 */
export class HubConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  /** When the established link went down (null while up, or before the first one). */
  private lostAt: number | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private lastHeardAt = 0;
  private pingIntervalMs: number;
  private closed = false;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.pingIntervalMs = options.timings.pingIntervalMs;
  }

  start(): void {
    this.dial();
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  send(frame: ExecutorFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * The hub accepted the registration: the next outage starts its backoff from the beginning,
   * and pings follow the hub's interval when it asks for a shorter one.
   */
  registered(hubPingIntervalMs: number): void {
    this.attempt = 0;
    this.lostAt = null;
    const interval = Math.min(this.options.timings.pingIntervalMs, hubPingIntervalMs);
    if (interval !== this.pingIntervalMs) {
      this.pingIntervalMs = interval;
      this.startKeepAlive();
    }
  }

  /** Closes for good (no reconnect); resolves once the socket is closed or after 1 s. */
  close(code: number, reason: string): Promise<void> {
    this.closed = true;
    this.clearTimers();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 1000);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(code, reason);
    });
  }

  private dial(): void {
    if (this.closed) return;
    const authorize = this.options.authorize;
    if (!authorize) {
      this.open(this.options.token);
      return;
    }
    void authorize().then(
      (auth) => {
        if (this.closed) return;
        if (auth.kind === "bearer") this.open(auth.bearer);
        else if (auth.kind === "terminal") {
          this.closed = true;
          this.events.onTerminal(auth);
        } else this.redialLater(false, 0, "", auth.reason);
      },
      (error: unknown) => this.redialLater(false, 0, "", String(error)),
    );
  }

  private open(token: string): void {
    const { log, deviceId } = this.options;
    const url = connectUrl(this.options.backendUrl);
    log.debug("connecting", { url });
    const socket = new WebSocket(url, {
      // The token goes in a header, never in the URL, so it stays out of access logs.
      headers: { Authorization: `Bearer ${token}`, "X-Device-Id": deviceId },
      handshakeTimeout: this.options.timings.handshakeTimeoutMs,
      perMessageDeflate: false,
    });
    this.socket = socket;
    let refusal: StopReason | null = null;

    socket.on("unexpected-response", (request, response) => {
      void readRefusal(response, this.options.refused).then((result) => {
        if (result.terminal) refusal = result.terminal;
        else
          log.warn("backend refused the connection; will retry", {
            status: response.statusCode,
            detail: result.detail,
          });
        request.destroy();
        socket.terminate();
      });
    });
    let opened = false;
    socket.on("open", () => {
      opened = true;
      log.debug("socket open");
      this.lastHeardAt = Date.now();
      this.startKeepAlive();
      this.startWatchdog();
      this.events.onOpen();
    });
    socket.on("message", (data, isBinary) => {
      this.lastHeardAt = Date.now();
      if (isBinary) {
        log.warn("binary frame ignored");
        return;
      }
      const text = Buffer.isBuffer(data)
        ? data.toString("utf8")
        : Buffer.concat(toBuffers(data)).toString("utf8");
      if (text === PONG) return;
      const parsed = parseFrame(HubFrame, text);
      if (!parsed.ok) {
        log.warn("bad frame from the hub ignored", { code: parsed.code, detail: parsed.message });
        return;
      }
      try {
        this.events.onFrame(parsed.frame);
      } catch (error) {
        log.error("frame handler failed", { type: parsed.frame.type, error: String(error) });
      }
    });
    let lastError: string | undefined;
    socket.on("error", (error) => {
      lastError = error.message;
      log.debug("socket error", { error: error.message });
    });
    socket.on("close", (code, reasonBuffer) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (this.closed) return;
      const reason = reasonBuffer.toString("utf8");
      const terminal = refusal ?? terminalClose(code, reason);
      if (terminal) {
        this.closed = true;
        this.events.onTerminal(terminal);
        return;
      }
      this.events.onDown();
      this.redialLater(opened, code, reason, lastError);
    });
  }

  private redialLater(opened: boolean, code: number, reason: string, error?: string): void {
    if (this.closed) return;
    const now = Date.now();
    if (opened && this.lostAt === null) this.lostAt = now;
    const { timings } = this.options;
    const delay = reconnectDelay(
      {
        attempt: this.attempt,
        downForMs: this.lostAt === null ? null : now - this.lostAt,
        closeCode: code,
      },
      {
        baseMs: timings.backoffBaseMs,
        capMs: timings.backoffCapMs,
        spreadMs: timings.reconnectSpreadMs,
        blipSpreadMs: timings.reconnectBlipSpreadMs,
        outageCapMs: timings.outageCapMs,
        outageFastMs: timings.outageFastMs,
        random: this.options.random,
      },
    );
    this.attempt += 1;
    // Close code 0: no socket was opened (the credential could not be had yet).
    metrics().reconnect(opened ? "link_lost" : code === 0 ? "credential" : "unreachable", code);
    this.options.log.info(
      opened ? "disconnected; reconnecting" : "cannot reach the backend; retrying",
      { code, reason: reason || undefined, error, inMs: delay },
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, delay);
  }

  private startKeepAlive(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = setInterval(() => {
      if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(PING);
    }, this.pingIntervalMs);
  }

  private startWatchdog(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    const timeout = this.options.timings.pongTimeoutMs;
    this.watchdogTimer = setInterval(
      () => {
        if (Date.now() - this.lastHeardAt <= timeout) return;
        this.options.log.warn("no answer from the backend; reconnecting", {
          silentMs: Date.now() - this.lastHeardAt,
        });
        this.socket?.terminate();
      },
      Math.max(20, Math.min(1000, timeout / 5)),
    );
  }

  private clearTimers(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.keepAliveTimer = null;
    this.watchdogTimer = null;
  }
}

const NEW_TOKEN =
  "generate a new one in Settings → API Token and start wegent-executor again with --token";

function terminalClose(code: number, reason: string): StopReason | null {
  if (!TERMINAL_CLOSE_CODES.has(code)) return null;
  const detail = reason ? ` (${reason})` : "";
  switch (code) {
    case CloseCode.deviceRemoved:
      return {
        exitCode: 1,
        message:
          "This device was removed in the web UI; start wegent-executor again to re-register it.",
      };
    case CloseCode.replaced:
      return {
        exitCode: 1,
        message:
          "Another wegent-executor with the same device id connected and took over; this one stops. Run only one executor per machine.",
      };
    case CloseCode.tokenExpired:
      return { exitCode: 1, message: `The API token expired${detail} — ${NEW_TOKEN}.` };
    case CloseCode.tokenRevoked:
      return { exitCode: 1, message: `The API token was revoked${detail} — ${NEW_TOKEN}.` };
    default:
      return { exitCode: 1, message: `The backend refused the API token${detail} — ${NEW_TOKEN}.` };
  }
}

/** Reads the body of a refused upgrade; a 401 means the user must act, anything else may pass. */
async function readRefusal(
  response: IncomingMessage,
  refused?: ConnectionOptions["refused"],
): Promise<{ terminal: StopReason | null; detail: string }> {
  const body = await readBody(response, 16 * 1024, 5000);
  if (response.statusCode !== 401) return { terminal: null, detail: body.slice(0, 200) };
  let json: unknown = null;
  try {
    json = JSON.parse(body);
  } catch {
    // Not our JSON (a proxy's page?): still a refusal of the token.
  }
  const parsed = ApiError.safeParse(json);
  const code = parsed.success ? parsed.data.error.code : "invalid_token";
  const serverMessage = parsed.success ? parsed.data.error.message.slice(0, 500) : "";
  const better = refused?.(code, serverMessage);
  if (better) return { terminal: better, detail: code };
  const lead =
    code === "token_expired"
      ? "The API token expired"
      : code === "token_revoked"
        ? "The API token was revoked"
        : "The API token is not valid";
  // The server's message names the date of expiry and the fix; it is what the user needs.
  const message = serverMessage || `${lead} — ${NEW_TOKEN}.`;
  return { terminal: { exitCode: 1, message }, detail: code };
}

function readBody(response: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const timer = setTimeout(finish, timeoutMs);
    response.on("data", (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
    });
    response.on("end", finish);
    response.on("error", finish);
    response.on("close", finish);
  });
}

function toBuffers(data: WebSocket.RawData): Buffer[] {
  if (Array.isArray(data)) return data;
  return [Buffer.from(data as ArrayBuffer)];
}
