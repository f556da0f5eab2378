// A fake push service for the workers tests, as miniflare's `outboundService`: the Worker's
// (and the hubs') fetches to https://fcm.googleapis.com never leave the machine; they land
// here, are recorded as sent (headers and the encrypted body), and answered like FCM would.
// A test reads what arrived with GET https://fcm.googleapis.com/__fake/received/<id> and
// decrypts it itself (it holds the subscription's private key and auth secret).
//
// Why this and not an HTTPS server on loopback with its own CA: the workers project runs the
// real Worker and hubs in workerd under vitest, where rerouting one host is exact and needs no
// certificate or NODE_EXTRA_CA_CERTS in the vitest process; the library and the Worker still
// see an ordinary https:// endpoint on an allowed push host.

export const FAKE_PUSH_HOST = "fcm.googleapis.com";

interface Received {
  method: string;
  headers: Record<string, string>;
  body: string; // base64
  at: number;
}

const received = new Map<string, Received[]>();

/**
 * Subscription ids choose the answer: `gone-…` → 410, `busy-…` → 429 with Retry-After: 120,
 * `flaky-…` → 429 with Retry-After: 1 the first time and 201 after, `down-…` → 503 always,
 * anything else → 201 Created.
 */
export async function fakePushOutbound(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname !== FAKE_PUSH_HOST) {
    // Nothing else may leave the tests.
    return new Response("no network in tests", { status: 502 });
  }
  const seen = /^\/__fake\/received\/([\w-]+)$/.exec(url.pathname);
  if (seen?.[1]) {
    return Response.json(received.get(seen[1]) ?? []);
  }
  const push = /^\/fcm\/send\/([\w-]+)$/.exec(url.pathname);
  if (!push?.[1] || request.method !== "POST") return new Response("not found", { status: 404 });
  const id = push[1];
  const body = Buffer.from(await request.arrayBuffer()).toString("base64");
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const list = received.get(id) ?? [];
  list.push({ method: request.method, headers, body, at: Date.now() });
  received.set(id, list);
  if (id.startsWith("gone-")) return new Response("expired", { status: 410 });
  if (id.startsWith("flaky-") && list.length === 1) {
    return new Response("slow down", { status: 429, headers: { "Retry-After": "1" } });
  }
  if (id.startsWith("down-")) return new Response("unavailable", { status: 503 });
  if (id.startsWith("busy-")) {
    return new Response("slow down", { status: 429, headers: { "Retry-After": "120" } });
  }
  return new Response(null, { status: 201 });
}
