import {
  CloseCode,
  type LiveEvent,
  LiveFocus,
  type LiveFrame,
  parseFrame,
  PING,
  PONG,
} from "@wegent/protocol";
import { type Connection, type ConnectionContext, Server } from "partyserver";
import { isWebSocketUpgrade } from "../edge/websocket";
import { LIVE_HEADERS } from "./contract";
import { coalesce } from "./coalesce";
import { type HubMeters, Meter } from "./meters";
import { pushNotices, type TabFocus, watched } from "./push-notices";
import { type PushNotice, sendPush } from "../edge/push/send";
import { PushRetries } from "./push-retries";
import { log } from "../edge/log";

/** Per tab: when the session or token that opened it expires (epoch ms), and what it shows. */
interface LiveState {
  expiresAt: number | null;
  focus?: TabFocus;
}

/** How long a push's key is kept against a repeat (a replay comes within minutes). */
const KEEP_PUSH_KEYS_MS = 7 * 24 * 60 * 60 * 1000;

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
  private readonly meter: Meter;
  private readonly pushRetries: PushRetries;
  /** The last liveSeq stamped (memory; read from SQLite once per wake-up). */
  private last: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    const meter = new Meter(env);
    super(ctx, meter.env(env));
    this.meter = meter;
    // Saved by the alarm (with the tabs' expiries), never by a timer.
    meter.persistIn(ctx.storage, () => void this.scheduleExpiry());
    this.db = meter.sql(ctx.storage.sql);
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL)",
    );
    // The pushes sent (or held back) per (message or request, event): each happens once.
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS push_keys (key TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    );
    this.pushRetries = new PushRetries(this.db);
    // Tabs keep the socket alive with pings the runtime answers without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  private lastSeq(): number {
    if (this.last === null) {
      const row = this.db.exec("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").toArray()[0];
      this.last = Number(row?.seq ?? 0);
    }
    return this.last;
  }

  override async fetch(request: Request): Promise<Response> {
    this.meter.request();
    if (!isWebSocketUpgrade(request)) {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    return super.fetch(request);
  }

  override getConnectionTags(_connection: Connection, { request }: ConnectionContext): string[] {
    return ["browser", `session:${request.headers.get(LIVE_HEADERS.session) ?? "token"}`];
  }

  override async onConnect(connection: Connection, { request }: ConnectionContext): Promise<void> {
    // A tab never outlives the session or token that opened it: the alarm closes it then.
    const expiresAt = Date.parse(request.headers.get(LIVE_HEADERS.expires) ?? "");
    connection.setState({ expiresAt: Number.isFinite(expiresAt) ? expiresAt : null });
    await this.scheduleExpiry();
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
    this.meter.wsOut();
    if (resumable && after !== null) {
      for (const row of this.db.exec(
        "SELECT frame FROM events WHERE seq > ? ORDER BY seq",
        after,
      )) {
        connection.send(String(row.frame));
        this.meter.wsOut();
      }
    }
  }

  /** Stamps the next sequence on an event, keeps it, and pushes it to every open tab. */
  async publish(event: LiveEvent): Promise<number> {
    return this.publishMany([event]);
  }

  /**
   * The same for several events, in order; returns the last sequence stamped. Deltas of one
   * message that follow each other become one `message:deltas` frame (one row, one message
   * per tab), which takes one liveSeq per delta so per-event ids stay exact.
   */
  async publishMany(events: LiveEvent[]): Promise<number> {
    this.meter.request();
    let seq = this.lastSeq();
    const frames: string[] = [];
    for (const event of coalesce(events)) {
      const before = seq;
      seq += event.type === "message:deltas" ? event.events.length : 1;
      const frame = JSON.stringify({ ...event, liveSeq: seq });
      this.db.exec("INSERT INTO events (seq, frame) VALUES (?, ?)", seq, frame);
      if (Math.floor(before / 500) !== Math.floor(seq / 500))
        this.db.exec("DELETE FROM events WHERE seq <= ?", seq - KEEP_EVENTS);
      frames.push(frame);
    }
    this.last = seq;
    for (const ws of this.getConnections("browser")) {
      try {
        for (const frame of frames) ws.send(frame);
        this.meter.wsOut(frames.length);
      } catch {
        // closing; the browser resumes from its last liveSeq
      }
    }
    this.notify(events);
    return seq;
  }

  /** The user's id (the hub's name), learnt from the first tab or publish. */
  private userId(): string {
    return this.name;
  }

  /**
   * Web Push for the events worth one, each once, sent behind the publish (never delaying or
   * failing it); held back only while a tab is visible, focused and on that very task.
   */
  private notify(events: LiveEvent[]): void {
    const now = Date.now();
    for (const event of events) {
      for (const notice of pushNotices(event)) {
        // A failure caused by the device going offline was already pushed as device_offline.
        const cause = notice.eventKey.replace(/^failed:/, "device_offline:");
        if (notice.kind === "failed" && this.pushKeySeen(cause)) continue;
        if (this.pushKeySeen(notice.eventKey)) continue;
        this.db.exec("INSERT INTO push_keys (key, at) VALUES (?, ?)", notice.eventKey, now);
        // Newer news of the task replaces an older push still waiting to be retried.
        this.pushRetries.newest(notice.taskId, now);
        const tabs = [...this.getConnections<LiveState>("browser")].map((c) => c.state?.focus);
        if (watched(tabs, notice.taskId)) {
          log({
            event: "push.suppressed",
            ownerId: this.userId(),
            taskId: notice.taskId,
            kind: notice.kind,
          });
          continue;
        }
        this.ctx.waitUntil(this.push(notice, null, 0, now));
      }
    }
    if (Math.random() < 0.01) {
      this.db.exec("DELETE FROM push_keys WHERE at < ?", now - KEEP_PUSH_KEYS_MS);
    }
  }

  /** Sends a push (try `tries`), keeping what the service did not take for the alarm. */
  private async push(
    notice: PushNotice,
    only: string[] | null,
    tries: number,
    since: number,
  ): Promise<void> {
    const retries = await sendPush(this.env, this.userId(), notice, only);
    if (retries.length === 0) return;
    this.pushRetries.keep(notice, retries, tries, since, Date.now());
    log({
      event: "push.retry_kept",
      ownerId: this.userId(),
      taskId: notice.taskId,
      kind: notice.kind,
      subscriptions: retries.length,
      tries,
    });
    await this.scheduleExpiry();
  }

  private pushKeySeen(key: string): boolean {
    return this.db.exec("SELECT 1 FROM push_keys WHERE key = ?", key).toArray().length > 0;
  }

  /** What this hub did (BENCH_METERS=1 only; zeros otherwise). */
  async meters(): Promise<HubMeters> {
    return this.meter.snapshot();
  }

  /** Closes the live sockets opened with one session (signed out) or token (revoked). */
  async closeSession(sessionId: string): Promise<void> {
    for (const ws of this.getConnections(`session:${sessionId}`)) {
      ws.close(4001, "Signed out.");
    }
  }

  /**
   * Sets the alarm to the next tab expiry, push retry or meters save (bench only), whichever
   * is first.
   */
  private async scheduleExpiry(): Promise<void> {
    const times: number[] = [];
    const retry = this.pushRetries.nextDue();
    if (retry !== null) times.push(retry);
    for (const c of this.getConnections<LiveState>("browser")) {
      if (c.state?.expiresAt != null) times.push(c.state.expiresAt);
    }
    if (this.meter.saveAt !== null) times.push(this.meter.saveAt);
    if (times.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(Math.min(...times), Date.now() + 10));
  }

  /**
   * Closes the tabs whose session or token expired, tries again the pushes that are due, then
   * waits for the next expiry.
   */
  override async onAlarm(): Promise<void> {
    const now = Date.now();
    const tabs = [...this.getConnections<LiveState>("browser")].map((c) => c.state?.focus);
    for (const due of this.pushRetries.takeDue(now)) {
      // The person is looking at that task now: the news reached them.
      if (watched(tabs, due.notice.taskId)) continue;
      await this.push(due.notice, due.subscriptionIds, due.tries, due.since);
    }
    const saveAt = this.meter.saveAt;
    if (saveAt !== null && saveAt <= now) this.meter.save();
    for (const c of this.getConnections<LiveState>("browser")) {
      const expiresAt = c.state?.expiresAt ?? null;
      if (expiresAt !== null && expiresAt <= now) {
        try {
          c.close(CloseCode.tokenExpired, "The session or token of this channel expired.");
        } catch {
          // already closing
        }
      }
    }
    await this.scheduleExpiry();
  }

  override onMessage(connection: Connection<LiveState>, message: string | ArrayBuffer): void {
    this.meter.wsIn();
    // The channel carries news one way; the tab only says what it shows (`live:focus`), so a
    // push is held back while the user looks at that task. Anything else closes the socket.
    const parsed = parseFrame(LiveFocus, message);
    if (!parsed.ok) {
      connection.close(CloseCode.protocolAbuse, "The live channel only accepts live:focus.");
      return;
    }
    const { visible, focused, taskId } = parsed.frame;
    connection.setState({
      expiresAt: connection.state?.expiresAt ?? null,
      focus: { visible, focused, taskId },
    });
  }
}
