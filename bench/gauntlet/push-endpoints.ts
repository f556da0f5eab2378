// Issue #24: a user registers a Web Push endpoint that points at an internal address (loopback,
// a private network, cloud metadata, a look-alike host) so the Worker would post there on the
// next event. Every one is refused with 400 `push_endpoint_refused`, none is stored, and a
// listener on loopback sees no connection. The platform runs as in production (no
// PUSH_ALLOW_LOOPBACK).
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { PushSubscriptionsBody } from "@wegent/protocol";
import { api } from "../../e2e/harness";
import { expectThat, type Scenario } from "./context";

const KEYS = {
  // A valid-looking P-256 point and auth secret: only the endpoint is judged here.
  p256dh: "BEFYeLs8MjKEmt9VmJaz1lirAfgEhnT81Bz-pCqdUG8_Qe-PgygvKMVNjxr3JdMSAACW8EnELsBqTPo4AEh_leo",
  auth: "AAAAAAAAAAAAAAAAAAAAAA",
};

export const pushInternalEndpoint: Scenario = {
  name: "push: an endpoint pointing at an internal address is refused",
  async run(ctx) {
    const origin = ctx.platform.origin;
    const user = await ctx.newUser();
    let connections = 0;
    const listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    ctx.cleanups.push(() => new Promise<void>((resolve) => listener.close(() => resolve())));
    const port = (listener.address() as AddressInfo).port;
    const endpoints = [
      `https://127.0.0.1:${port}/push`,
      `https://localhost:${port}/push`,
      `https://[::1]:${port}/push`,
      "https://2130706433/push",
      "https://10.0.0.1/push",
      "https://192.168.1.1/push",
      "https://169.254.169.254/latest/meta-data/",
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://fcm.googleapis.com.127.0.0.1.nip.io/fcm/send/x",
      "https://evilpush.apple.com.example/x",
      "http://fcm.googleapis.com/fcm/send/x",
      `https://fcm.googleapis.com:${port}/fcm/send/x`,
    ];
    const wrong: string[] = [];
    for (const endpoint of endpoints) {
      const res = await api<{ error?: { code?: string } }>(
        origin,
        "POST",
        "/api/push/subscriptions",
        { cookie: user.session.cookie, body: { endpoint, keys: KEYS } },
      );
      if (res.status !== 400 || res.body.error?.code !== "push_endpoint_refused") {
        wrong.push(`${endpoint} → ${res.status} ${JSON.stringify(res.body).slice(0, 100)}`);
      }
    }
    expectThat(wrong.length === 0, `accepted: ${wrong.join("; ")}`);
    const list = await api<PushSubscriptionsBody>(origin, "GET", "/api/push/subscriptions", {
      cookie: user.session.cookie,
    });
    expectThat(
      list.status === 200 && list.body.subscriptions.length === 0,
      `stored: ${JSON.stringify(list.body).slice(0, 200)}`,
    );
    expectThat(connections === 0, `${connections} connections reached the loopback listener`);
    return `${endpoints.length} internal endpoints refused (400 push_endpoint_refused), none stored, 0 connections`;
  },
};
