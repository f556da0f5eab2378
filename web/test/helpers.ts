import type { Device, LiveFrame, Message, Task } from "@wegent/protocol";
import { vi } from "vitest";

export const TASK_ID = "7b0c0f8e-1111-4a4a-8888-000000000001";
export const USER_MSG_ID = "7b0c0f8e-1111-4a4a-8888-000000000002";
export const REPLY_ID = "7b0c0f8e-1111-4a4a-8888-000000000003";
const AT = "2030-01-01T10:00:00.000Z";

export function device(overrides: Partial<Device> & { id: string }): Device {
  return {
    name: `Laptop ${overrides.id}`,
    type: "local",
    platform: "Darwin arm64",
    version: "0.1.0",
    status: "online",
    slotsUsed: 0,
    maxSlots: 5,
    queueLength: 0,
    isDefault: false,
    lastSeenAt: AT,
    tokenExpiresAt: null,
    projects: [],
    commands: [],
    capabilities: { state: "synced", digest: null, error: null },
    slotLimit: null,
    cloudBackup: false,
    runtimes: [],
    costTodayUsd: null,
    ...overrides,
  };
}

export function task(overrides: Partial<Task> = {}): Task {
  return {
    id: TASK_ID,
    title: "Fix the build",
    target: "device",
    deviceId: "device-aaaa",
    projectId: null,
    projectName: null,
    branch: null,
    status: "running",
    createdAt: AT,
    updatedAt: AT,
    runtime: "claude-code",
    ...overrides,
  };
}

export function message(overrides: Partial<Message> & { id: string }): Message {
  return {
    taskId: TASK_ID,
    role: "assistant",
    content: "",
    status: "running",
    errorCode: null,
    errorMessage: null,
    deviceId: "device-aaaa",
    queuePosition: null,
    startedAt: AT,
    endedAt: null,
    blocks: [],
    permissionMode: null,
    lastSeq: 0,
    stages: null,
    usage: null,
    costUsd: null,
    createdAt: AT,
    ...overrides,
  };
}

type Reply = { status?: number; body: unknown; headers?: Record<string, string> };
export type Route = (method: string, url: string, body: unknown) => Reply | undefined;

/** Replaces fetch with `route`; every call is recorded. Unknown calls answer 404. */
export function mockFetch(route: Route) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fake = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const body: unknown = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    calls.push({ method, url, body });
    const reply = route(method, url, body) ?? {
      status: 404,
      body: { error: { code: "not_found", message: `no route ${method} ${url}` } },
    };
    return new Response(JSON.stringify(reply.body), {
      status: reply.status ?? 200,
      headers: { "content-type": "application/json", ...reply.headers },
    });
  });
  vi.stubGlobal("fetch", fake);
  return calls;
}

/** A stand-in for the browser WebSocket that the test drives by hand. */
export class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code }));
  }
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }
  push(frame: LiveFrame | string) {
    const data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.dispatchEvent(Object.assign(new Event("message"), { data }));
  }
  static latest(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (!socket) throw new Error("no socket opened");
    return socket;
  }
}

export function installFakeSocket() {
  FakeSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeSocket);
}
