import { CloseCode, type LiveEvent, type LiveFrame, PING, PONG } from "@wegent/protocol";
import { type Connection, type ConnectionContext, Server } from "partyserver";
import { isWebSocketUpgrade } from "../edge/websocket";
import { LIVE_HEADERS } from "./contract";

// How much history a reconnecting tab can resume from. Older gaps get `reset: true`.
const KEEP_EVENTS = 5_000;

/**
 * One per user: the browsers' live channel. Every event for the user gets the next `liveSeq`
 * and is kept (bounded) in the object's SQLite, so a tab that reconnects with `?after=N`
 * receives exactly what it missed, in order, before anything new. Built on partyserver's
 * `Server` with hibernation; tabs are connections tagged by the session that opened them.
 */
export class UserHub extends Server<Env> {
  static override options = { hibernate: true };

  private readonly db: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = ctx.storage.sql;
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL)",
    );
    // Tabs keep the socket alive with pings the runtime answers without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  private lastSeq(): number {
    const row = this.db.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").toArray()[0];
    return Number(row?.seq ?? 0);
  }

  override async fetch(request: Request): Promise<Response> {
    if (!isWebSocketUpgrade(request)) {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    return super.fetch(request);
  }

  override getConnectionTags(_connection: Connection, { request }: ConnectionContext): string[] {
    return ["browser", `session:${request.headers.get(LIVE_HEADERS.session) ?? "token"}`];
  }

  override onConnect(connection: Connection, { request }: ConnectionContext): void {
    const afterParam = new URL(request.url).searchParams.get("after");
    const after = afterParam !== null && /^\d+$/.test(afterParam) ? Number(afterParam) : null;
    const last = this.lastSeq();
    const oldest = Number(
      this.db.exec("SELECT COALESCE(MIN(seq), 0) AS seq FROM events").toArray()[0]?.seq ?? 0,
    );
    // Resumable when nothing after `after` was trimmed away (and `after` is not from the future).
    const resumable = after !== null && after <= last && after >= oldest - 1;
    const hello: LiveFrame = {
      type: "live:hello",
      liveSeq: last,
      reset: after !== null && !resumable,
    };
    connection.send(JSON.stringify(hello));
    if (resumable && after !== null) {
      for (const row of this.db.exec(
        "SELECT frame FROM events WHERE seq > ? ORDER BY seq",
        after,
      )) {
        connection.send(String(row.frame));
      }
    }
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
      this.db.exec("INSERT INTO events (seq, frame) VALUES (?, ?)", seq, frame);
      if (seq % 500 === 0) this.db.exec("DELETE FROM events WHERE seq <= ?", seq - KEEP_EVENTS);
      frames.push(frame);
    }
    for (const ws of this.getConnections("browser")) {
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
    for (const ws of this.getConnections(`session:${sessionId}`)) {
      ws.close(4001, "Signed out.");
    }
  }

  override onMessage(connection: Connection): void {
    // The channel is one-way: anything but the auto-answered ping is refused by closing.
    connection.close(CloseCode.protocolAbuse, "The live channel is read-only.");
  }
}
