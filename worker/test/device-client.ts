import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import {
  expandDeltas,
  type DeviceMethod,
  type DeviceParams,
  type HubFrame,
  HubFrame as HubFrameSchema,
  type LiveFrame,
  LiveFrame as LiveFrameSchema,
} from "@wegent/protocol";

/** Polls `check` until it returns a value (not undefined/false), or fails after `ms`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  ms = 5_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Socket<F> {
  ws: WebSocket;
  frames: F[];
  raw: string[];
  closed: { code: number; reason: string } | null;
  send(frame: unknown): void;
  sendRaw(data: string): void;
  next(type: string, where?: (f: F) => boolean, ms?: number): Promise<F>;
  close(code?: number): void;
}

function wrap<F extends { type: string }>(
  ws: WebSocket,
  parse: (data: string) => F | F[] | null,
): Socket<F> {
  const socket: Socket<F> = {
    ws,
    frames: [],
    raw: [],
    closed: null,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data) => ws.send(data),
    async next(type, where = () => true, ms = 5_000) {
      const seen = new Set<F>();
      return eventually(
        () => {
          const found = socket.frames.find((f) => f.type === type && !seen.has(f) && where(f));
          if (found) socket.frames.splice(socket.frames.indexOf(found), 1);
          return found;
        },
        ms,
        `frame ${type}`,
      );
    },
    close: (code = 1000) => ws.close(code, "test"),
  };
  ws.accept();
  ws.addEventListener("message", (event) => {
    const data = typeof event.data === "string" ? event.data : "";
    socket.raw.push(data);
    const frame = parse(data);
    if (Array.isArray(frame)) socket.frames.push(...frame);
    else if (frame) socket.frames.push(frame);
  });
  ws.addEventListener("close", (event) => {
    socket.closed = { code: event.code, reason: event.reason };
  });
  return socket;
}

export type DeviceSocket = Socket<HubFrame>;

/** Opens the executor socket the way wegent-executor does (token in the header only). */
export async function openDevice(
  token: string | null,
  deviceId: string,
): Promise<{ status: number; body: unknown; socket: DeviceSocket | null }> {
  const headers: Record<string, string> = { Upgrade: "websocket", "X-Device-Id": deviceId };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await SELF.fetch("http://wegent.test/api/devices/connect", { headers });
  if (!res.webSocket) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, body, socket: null };
  }
  const socket = wrap<HubFrame>(res.webSocket, (data) => {
    const parsed = HubFrameSchema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : null;
  });
  return { status: res.status, body: null, socket };
}

export interface RegisterOptions {
  name?: string;
  maxSlots?: number;
  runningTaskIds?: string[];
  deviceType?: "local" | "cloud";
  /** More register fields (projects, commands). */
  extra?: Record<string, unknown>;
}

/** Connects and registers a device; resolves with the socket and the registered frame. */
export async function registerDevice(
  token: string,
  deviceId: string,
  options: RegisterOptions = {},
) {
  const { socket, status, body } = await openDevice(token, deviceId);
  expect(socket, `upgrade refused: ${status} ${JSON.stringify(body)}`).not.toBeNull();
  const s = socket!;
  s.send({
    type: "device:register",
    deviceId,
    name: options.name ?? `Linux - ${deviceId.slice(0, 8)}`,
    platform: "linux-x64",
    executorVersion: "0.1.0",
    maxSlots: options.maxSlots ?? 5,
    deviceType: options.deviceType ?? "local",
    runtimes: ["claude-code"],
    runningTaskIds: options.runningTaskIds ?? [],
    ...options.extra,
  });
  const registered = (await s.next("device:registered")) as Extract<
    HubFrame,
    { type: "device:registered" }
  >;
  return { socket: s, registered };
}

export type LiveSocket = Socket<LiveFrame>;

export async function openLive(cookie: string, after?: number): Promise<LiveSocket> {
  const query = after === undefined ? "" : `?after=${after}`;
  const res = await SELF.fetch(`http://wegent.test/api/live${query}`, {
    headers: { Upgrade: "websocket", Cookie: cookie, Origin: "http://wegent.test" },
  });
  expect(res.status).toBe(101);
  // A batch of deltas reads as its single deltas (expandDeltas), as most tests check those.
  return wrap<LiveFrame>(res.webSocket!, (data) => {
    const parsed = LiveFrameSchema.safeParse(JSON.parse(data));
    return parsed.success ? expandDeltas(parsed.data) : null;
  });
}

let n = 0;
export function newDeviceId(): string {
  n += 1;
  return `dev${Date.now().toString(16)}${n.toString().padStart(6, "0")}`;
}

type Execute = Extract<HubFrame, { type: "task:execute" }>;

/** A `task:progress` text frame for the message of `e`. */
export function textFrame(e: Execute, seq: number, offset: number, delta: string) {
  return {
    type: "task:progress",
    taskId: e.taskId,
    messageId: e.messageId,
    seq,
    event: { kind: "text", offset, delta },
  };
}

/** Plays a well-behaved executor for one message: accept, one text delta, complete, await the ack. */
export async function reply(socket: DeviceSocket, e: Execute, text: string, sessionId: string) {
  socket.send({ type: "task:accepted", taskId: e.taskId, messageId: e.messageId });
  socket.send(textFrame(e, 1, 0, text));
  socket.send({
    type: "task:complete",
    taskId: e.taskId,
    messageId: e.messageId,
    seq: 2,
    text,
    sessionId,
    usage: null,
    costUsd: null,
  });
  await socket.next(
    "task:ack",
    (f) => f.type === "task:ack" && f.messageId === e.messageId && f.seq === 2,
  );
}

/** A device RPC request as the executor reads it: its id and its params. */
export type DeviceAsk<M extends DeviceMethod> = { requestId: string } & DeviceParams<M>;

/** The next device RPC request for `method` (the executor's side of the RPC). */
export async function nextAsk<M extends DeviceMethod>(
  socket: DeviceSocket,
  method: M,
  ms?: number,
): Promise<DeviceAsk<M>> {
  const frame = (await socket.next(
    "device:request",
    (f) => "method" in f && f.method === method,
    ms,
  )) as Extract<HubFrame, { type: "device:request" }>;
  return { requestId: frame.requestId, ...(frame.params as DeviceParams<M>) };
}

/** The executor's answer to a device RPC request. */
export function answerAsk(socket: DeviceSocket, requestId: string, result: unknown): void {
  socket.send({ type: "device:response", requestId, ok: true, result });
}
