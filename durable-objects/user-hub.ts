import { DurableObject } from "cloudflare:workers";
import { CloseCode, type LiveEvent, type LiveFrame, PING, PONG } from "@wegent/protocol";
import { closeBack, isWebSocketUpgrade } from "../edge/websocket";
import { LIVE_HEADERS } from "./contract";

// How much history a reconnecting tab can resume from. Older gaps get `reset: true`.
const KEEP_EVENTS = 5_000;

/**
 * One per user: the browsers' live channel. Every event for the user gets the next `liveSeq`
 * and is kept (bounded) in the object's SQLite, so a tab that reconnects with `?after=N`
 * receives exactly what it missed, in order, before anything new.
 */
export class UserHub extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL)",
    );
    // Tabs keep the socket alive with pings the runtime answers without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  private lastSeq(): number {
    const row = this.sql.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").toArray()[0];
    return Number(row?.seq ?? 0);
  }

  override async fetch(request: Request): Promise<Response> {
    if (!isWebSocketUpgrade(request)) {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const session = request.headers.get(LIVE_HEADERS.session) ?? "token";
    const afterParam = new URL(request.url).searchParams.get("after");
    const after = afterParam !== null && /^\d+$/.test(afterParam) ? Number(afterParam) : null;

    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, ["browser", `session:${session}`]);

    const last = this.lastSeq();
    const oldest = Number(
      this.sql.exec("SELECT COALESCE(MIN(seq), 0) AS seq FROM events").toArray()[0]?.seq ?? 0,
    );
    // Resumable when nothing after `after` was trimmed away (and `after` is not from the future).
    const resumable = after !== null && after <= last && after >= oldest - 1;
    const hello: LiveFrame = {
      type: "live:hello",
      liveSeq: last,
      reset: after !== null && !resumable,
    };
    server.send(JSON.stringify(hello));
    if (resumable && after !== null) {
      for (const row of this.sql.exec(
        "SELECT frame FROM events WHERE seq > ? ORDER BY seq",
        after,
      )) {
        server.send(String(row.frame));
      }
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Stamps the next sequence on an event, keeps it, and pushes it to every open tab. */
  async publish(event: LiveEvent): Promise<number> {
    return this.publishMany([event]);
  }

  /** The same for several events, in order; returns the last sequence stamped. */
  async publishMany(events: LiveEvent[]): Promise<number> {
    let seq = this.lastSeq();
    const frames: string[] = [];
    for (const event of events) {
      seq += 1;
      const frame = JSON.stringify({ ...event, liveSeq: seq });
      this.sql.exec("INSERT INTO events (seq, frame) VALUES (?, ?)", seq, frame);
      if (seq % 500 === 0) this.sql.exec("DELETE FROM events WHERE seq <= ?", seq - KEEP_EVENTS);
      frames.push(frame);
    }
    for (const ws of this.ctx.getWebSockets("browser")) {
      try {
        for (const frame of frames) ws.send(frame);
      } catch {
        // closing; the browser resumes from its last liveSeq
      }
    }
    return seq;
  }

  /** Closes the live sockets of one signed-out session. */
  async closeSession(sessionId: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets(`session:${sessionId}`)) {
      ws.close(4001, "Signed out.");
    }
  }

  override async webSocketMessage(ws: WebSocket): Promise<void> {
    // The channel is one-way: anything but the auto-answered ping is refused by closing.
    ws.close(CloseCode.protocolAbuse, "The live channel is read-only.");
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeBack(ws, code);
  }
}
