import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type {
  HubFrame,
  PushPayload,
  PushSubscriptionsBody,
  TaskWithMessages,
} from "@wegent/protocol";
import { call, createToken, expectError, signUp, type TestUser } from "./helpers";
import {
  type DeviceSocket,
  eventually,
  newDeviceId,
  openLive,
  registerDevice,
} from "./device-client";
import { type BrowserKeys, browserKeys, checkVapid, decryptPush } from "./push-crypto";

// Web Push end to end in workerd: the real Worker and hubs send through miniflare's outbound
// service to the fake push service (e2e/fake-push/outbound.ts), which records what arrived;
// the test holds the browser's keys, checks the VAPID JWT and decrypts the aes128gcm body.

type Execute = Extract<HubFrame, { type: "task:execute" }>;
const PUSH_ORIGIN = "https://fcm.googleapis.com";

interface Arrived {
  headers: Record<string, string>;
  body: string;
  at: number;
}

async function arrived(id: string): Promise<Arrived[]> {
  const res = await fetch(`${PUSH_ORIGIN}/__fake/received/${id}`);
  return (await res.json()) as Arrived[];
}

async function subscribe(user: TestUser, id: string, keys: BrowserKeys) {
  const res = await call("POST", "/api/push/subscriptions", {
    cookie: user.cookie,
    body: {
      endpoint: `${PUSH_ORIGIN}/fcm/send/${id}`,
      keys: { p256dh: keys.p256dh, auth: keys.auth },
      label: "test browser",
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { subscription: { id: string } }).subscription.id;
}

async function open(
  payloadFor: BrowserKeys,
  item: Arrived,
): Promise<{ payload: PushPayload; headers: Record<string, string> }> {
  await checkVapid(item.headers.authorization ?? "", PUSH_ORIGIN, env.VAPID_PUBLIC_KEY!);
  const text = await decryptPush(payloadFor, b64(item.body));
  return { payload: JSON.parse(text) as PushPayload, headers: item.headers };
}

function b64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function deviceUser() {
  const user = await signUp();
  const { token } = await createToken(user);
  const deviceId = newDeviceId();
  const { socket } = await registerDevice(token, deviceId);
  return { user, token, deviceId, socket };
}

async function startTask(user: TestUser, socket: DeviceSocket) {
  const created = await call("POST", "/api/tasks", {
    cookie: user.cookie,
    body: { message: "tidy the build", permissionMode: "default" },
  });
  expect(created.status).toBe(201);
  const taskId = (created.body as TaskWithMessages).task.id;
  const e = (await socket.next("task:execute")) as Execute;
  socket.send({ type: "task:accepted", taskId, messageId: e.messageId });
  return { taskId, e };
}

function ask(socket: DeviceSocket, e: Execute, requestId: string) {
  socket.send({
    type: "task:input-request",
    taskId: e.taskId,
    messageId: e.messageId,
    requestId,
    kind: "question",
    tool: "AskUserQuestion",
    input: { secret: "prompt text that must not travel" },
    questions: [
      {
        question: "Which colour?",
        header: "Colour",
        options: [{ label: "red", description: "" }],
        multiSelect: false,
      },
    ],
  });
}

function complete(socket: DeviceSocket, e: Execute, seq: number) {
  socket.send({
    type: "task:complete",
    taskId: e.taskId,
    messageId: e.messageId,
    seq,
    text: "the secret reply text",
    sessionId: "s-1",
    usage: null,
    costUsd: null,
  });
}

const settle = () => new Promise((r) => setTimeout(r, 800));

describe("push subscriptions API", () => {
  it("lets only the person choose where notifications go: a token is refused and changes nothing", async () => {
    const user = await signUp();
    const { token } = await createToken(user, { name: "ci script" });
    const keys = await browserKeys();
    const id = await subscribe(user, `person-${crypto.randomUUID()}`, keys);
    expectError(
      await call("POST", "/api/push/subscriptions", {
        token,
        body: {
          endpoint: `${PUSH_ORIGIN}/fcm/send/attacker-${crypto.randomUUID()}`,
          keys: { p256dh: keys.p256dh, auth: keys.auth },
        },
      }),
      403,
      "session_required",
    );
    expectError(
      await call("DELETE", `/api/push/subscriptions/${id}`, { token }),
      403,
      "session_required",
    );
    expectError(
      await call("PUT", "/api/push/preferences", {
        token,
        body: { needsInput: false, finished: false, failed: false, deviceOffline: false },
      }),
      403,
      "session_required",
    );
    // Reading is still fine for a token; nothing changed.
    const list = (await call("GET", "/api/push/subscriptions", { token }))
      .body as PushSubscriptionsBody;
    expect(list.subscriptions.map((s) => s.id)).toEqual([id]);
    expect(list.preferences.needsInput).toBe(true);
    // The owner's audit has the three refusals and the person's subscription, no endpoint URL.
    const audit = await call("GET", "/api/audit", { cookie: user.cookie });
    const entries = (audit.body as { entries: { action: string; outcome: string }[] }).entries;
    const outcomes = entries.map((e) => `${e.action} ${e.outcome}`);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        "push_subscription.create ok",
        "push_subscription.create session_required",
        "push_subscription.delete session_required",
        "push_preferences.update session_required",
      ]),
    );
    expect(JSON.stringify(audit.body)).not.toContain("/fcm/send/");
  });

  it("gives the key, keeps subscriptions per user, refuses endpoints off the push services", async () => {
    const user = await signUp();
    const other = await signUp();
    const key = await call("GET", "/api/push/key", { cookie: user.cookie });
    expect(key.body).toEqual({ publicKey: env.VAPID_PUBLIC_KEY });
    expectError(await call("GET", "/api/push/key"), 401);
    const keys = await browserKeys();
    for (const endpoint of [
      "https://evil.example/push",
      "http://fcm.googleapis.com/fcm/send/x",
      "https://10.0.0.1/push",
      "https://169.254.169.254/latest/meta-data",
      "https://fcm.googleapis.com.evil.example/x",
      "https://fcm.googleapis.com:8443/fcm/send/x",
      "https://user:pw@fcm.googleapis.com/fcm/send/x",
      "not a url",
    ]) {
      const res = await call("POST", "/api/push/subscriptions", {
        cookie: user.cookie,
        body: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } },
      });
      expectError(res, 400, "push_endpoint_refused");
    }
    expectError(
      await call("POST", "/api/push/subscriptions", {
        cookie: user.cookie,
        body: { endpoint: `${PUSH_ORIGIN}/fcm/send/x`, keys: { p256dh: "short", auth: keys.auth } },
      }),
      400,
      "invalid_body",
    );
    const id = await subscribe(user, `api-${crypto.randomUUID()}`, keys);
    const mine = (await call("GET", "/api/push/subscriptions", { cookie: user.cookie }))
      .body as PushSubscriptionsBody;
    expect(mine.subscriptions).toHaveLength(1);
    expect(mine.subscriptions[0]).toMatchObject({
      id,
      service: "fcm.googleapis.com",
      label: "test browser",
      lastStatus: null,
    });
    // The endpoint is a capability URL: the list shows the service's host only.
    expect(JSON.stringify(mine)).not.toContain("/fcm/send/");
    expect(mine.preferences).toEqual({
      needsInput: true,
      finished: true,
      failed: true,
      deviceOffline: true,
    });
    const theirs = (await call("GET", "/api/push/subscriptions", { cookie: other.cookie }))
      .body as PushSubscriptionsBody;
    expect(theirs.subscriptions).toEqual([]);
    expectError(
      await call("DELETE", `/api/push/subscriptions/${id}`, { cookie: other.cookie }),
      404,
      "not_found",
    );
    expectError(
      await call("PUT", "/api/push/preferences", {
        cookie: user.cookie,
        body: { needsInput: "yes", finished: true, failed: true, deviceOffline: true },
      }),
      400,
    );
    const prefs = await call("PUT", "/api/push/preferences", {
      cookie: user.cookie,
      body: { needsInput: true, finished: false, failed: true, deviceOffline: false },
    });
    expect(prefs.status).toBe(200);
    expect(
      (
        (await call("GET", "/api/push/subscriptions", { cookie: user.cookie }))
          .body as PushSubscriptionsBody
      ).preferences,
    ).toEqual({ needsInput: true, finished: false, failed: true, deviceOffline: false });
    expect(
      (await call("DELETE", `/api/push/subscriptions/${id}`, { cookie: user.cookie })).status,
    ).toBe(204);
    expectError(
      await call("DELETE", `/api/push/subscriptions/${id}`, { cookie: user.cookie }),
      404,
    );
  });
});

describe("pushes on transitions", () => {
  it("a question → one needs_input push within 2 s; completion → one finished; replays → none", async () => {
    const { user, token, deviceId, socket } = await deviceUser();
    const keys = await browserKeys();
    const sub = `ok-${crypto.randomUUID()}`;
    const subscriptionId = await subscribe(user, sub, keys);
    const { taskId, e } = await startTask(user, socket);
    // A send recorded longer ago than the record is kept: pruned by the next send.
    await env.DB.prepare(
      "INSERT INTO push_sends (owner_id, event_key, task_id, subscription_id, status, created_at) VALUES (?, 'finished:old', ?, ?, 201, ?)",
    )
      .bind(user.id, taskId, subscriptionId, new Date(Date.now() - 40 * 86_400_000).toISOString())
      .run();
    const requestId = crypto.randomUUID();
    const askedAt = Date.now();
    ask(socket, e, requestId);
    const first = await eventually(async () => (await arrived(sub))[0], 2_000, "needs_input push");
    const elapsed = first.at - askedAt;
    expect(elapsed).toBeLessThan(2_000);
    const { payload, headers } = await open(keys, first);
    expect(payload).toEqual({
      kind: "needs_input",
      taskId,
      requestId,
      requestKind: "question",
      title: expect.any(String),
      body: "The agent has a question for you.",
      url: `/#/tasks/${taskId}`,
    });
    expect(headers.urgency).toBe("high");
    expect(headers.topic).toBe(taskId.replaceAll("-", ""));
    expect(Number(headers.ttl)).toBeGreaterThan(60);
    expect(headers["content-encoding"]).toBe("aes128gcm");
    expect(headers.traceparent).toBeUndefined();
    expect(headers.cookie).toBeUndefined();

    // The executor reconnects and re-sends the same request: no second push.
    socket.close();
    const again = await registerDevice(token, deviceId, { runningTaskIds: [taskId] });
    ask(again.socket, e, requestId);
    await settle();
    expect(await arrived(sub)).toHaveLength(1);

    const answered = await call("POST", `/api/tasks/${taskId}/input/${requestId}`, {
      cookie: user.cookie,
      body: { answers: { "Which colour?": "red" } },
    });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    complete(again.socket, e, 1);
    const done = await eventually(async () => (await arrived(sub))[1], 2_000, "finished push");
    const finished = await open(keys, done);
    expect(finished.payload).toMatchObject({ kind: "finished", taskId });
    expect(finished.headers.urgency).toBe("normal");
    // No prompt or reply text travels in a push.
    expect(JSON.stringify(finished.payload)).not.toContain("secret");
    expect(JSON.stringify(payload)).not.toContain("secret");
    // A repeated completion (a replay) sends nothing more.
    complete(again.socket, e, 1);
    await settle();
    expect(await arrived(sub)).toHaveLength(2);
    // Each send is recorded, and the browser's list shows the last result.
    const list = (await call("GET", "/api/push/subscriptions", { cookie: user.cookie }))
      .body as PushSubscriptionsBody;
    expect(list.subscriptions.find((s) => s.id === subscriptionId)).toMatchObject({
      lastStatus: 201,
    });
    const sends = await env.DB.prepare(
      "SELECT event_key, status FROM push_sends WHERE subscription_id = ? ORDER BY id",
    )
      .bind(subscriptionId)
      .all();
    expect(sends.results).toEqual([
      { event_key: `needs_input:${requestId}`, status: 201 },
      { event_key: `finished:${e.messageId}`, status: 201 },
    ]);
  });

  it("a 410 removes the subscription; a 429 holds sends until Retry-After", async () => {
    const { user, socket } = await deviceUser();
    const goneKeys = await browserKeys();
    const gone = `gone-${crypto.randomUUID()}`;
    await subscribe(user, gone, goneKeys);
    const busy = `busy-${crypto.randomUUID()}`;
    const busyId = await subscribe(user, busy, await browserKeys());
    const { e } = await startTask(user, socket);
    ask(socket, e, crypto.randomUUID());
    await eventually(async () => (await arrived(gone)).length === 1, 2_000, "push to gone");
    await eventually(async () => (await arrived(busy)).length === 1, 2_000, "push to busy");
    const list = await eventually(
      async () => {
        const body = (await call("GET", "/api/push/subscriptions", { cookie: user.cookie }))
          .body as PushSubscriptionsBody;
        return body.subscriptions.length === 1 ? body : null;
      },
      2_000,
      "the 410 subscription removed",
    );
    expect(list.subscriptions[0]).toMatchObject({ id: busyId, lastStatus: 429 });
    // The next event is held for the busy endpoint (Retry-After: 120).
    ask(socket, e, crypto.randomUUID());
    await settle();
    expect(await arrived(busy)).toHaveLength(1);
  });

  it("a push the service rate-limited (429) is sent again by the hub's alarm after Retry-After", async () => {
    const { user, socket } = await deviceUser();
    const keys = await browserKeys();
    const flaky = `flaky-${crypto.randomUUID()}`;
    const flakyId = await subscribe(user, flaky, keys);
    const { e } = await startTask(user, socket);
    const requestId = crypto.randomUUID();
    ask(socket, e, requestId);
    // 429 with Retry-After: 1 the first time; the alarm sends it again after that second.
    const both = await eventually(
      async () => {
        const got = await arrived(flaky);
        return got.length === 2 ? got : null;
      },
      8_000,
      "the retried push",
    );
    expect(both[1]!.at - both[0]!.at).toBeGreaterThanOrEqual(900);
    const { payload } = await open(keys, both[1]!);
    expect(payload).toMatchObject({ kind: "needs_input", requestId });
    const sends = await env.DB.prepare(
      "SELECT event_key, status FROM push_sends WHERE subscription_id = ?",
    )
      .bind(flakyId)
      .all();
    expect(sends.results).toEqual([{ event_key: `needs_input:${requestId}`, status: 201 }]);
    await settle();
    expect(await arrived(flaky)).toHaveLength(2);
  }, 20_000);

  it("held back only while a tab is visible, focused and on that task", async () => {
    const { user, socket } = await deviceUser();
    const keys = await browserKeys();
    const sub = `ok-${crypto.randomUUID()}`;
    await subscribe(user, sub, keys);
    const { taskId, e } = await startTask(user, socket);
    const live = await openLive(user.cookie);
    await live.next("live:hello");
    live.send({ type: "live:focus", visible: true, focused: true, taskId });
    await settle();
    ask(socket, e, crypto.randomUUID());
    await live.next("input:request");
    await settle();
    expect(await arrived(sub)).toHaveLength(0);
    // Visible but not focused (another window): in doubt, send.
    live.send({ type: "live:focus", visible: true, focused: false, taskId });
    await settle();
    ask(socket, e, crypto.randomUUID());
    await eventually(async () => (await arrived(sub)).length === 1, 2_000, "push when unfocused");
    // A bad frame on the live channel still closes it.
    live.sendRaw(JSON.stringify({ type: "live:focus", visible: "yes" }));
    await eventually(() => live.closed, 2_000, "live socket closed");
  });

  it("a device with a running task goes offline → one device_offline push, no failed push", async () => {
    const { user, socket } = await deviceUser();
    const keys = await browserKeys();
    const sub = `ok-${crypto.randomUUID()}`;
    await subscribe(user, sub, keys);
    const { taskId } = await startTask(user, socket);
    socket.close();
    // DEVICE_GRACE_SECONDS is 1 in tests: then the task fails with device_disconnected.
    const first = await eventually(async () => (await arrived(sub))[0], 8_000, "offline push");
    const { payload } = await open(keys, first);
    expect(payload).toMatchObject({ kind: "device_offline", taskId });
    await settle();
    expect(await arrived(sub)).toHaveLength(1);
  });
});
