// Wegent Edge's service worker: keeps the app shell so the app opens offline (and says so),
// shows Web Push notifications, and answers a permission request from the notification.
/// <reference lib="webworker" />
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

const SHELL = "wegent-shell-v1";
const SHELL_URLS = ["/", "/manifest.webmanifest", "/icon-192.png", "/icon-512.png"];

sw.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(SHELL_URLS))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // The API is never cached: it is the live truth, and it carries the user's data.
  if (request.method !== "GET" || url.origin !== sw.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    // The page: the network first (fresh), the kept shell when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            void caches.open(SHELL).then((cache) => cache.put("/", copy));
          }
          return response;
        })
        .catch(() => caches.match("/").then((hit) => hit ?? Response.error())),
    );
    return;
  }
  // Built assets have hashed names: the cache first, filled as they load.
  event.respondWith(
    caches.match(request).then(
      (hit) =>
        hit ??
        fetch(request).then((response) => {
          if (response.ok && url.pathname.startsWith("/assets/")) {
            const copy = response.clone();
            void caches.open(SHELL).then((cache) => cache.put(request, copy));
          }
          return response;
        }),
    ),
  );
});

/** A push's payload, checked (a push service can replay anything it was given). */
function readPayload(data) {
  try {
    const p = data ? data.json() : null;
    if (!p || typeof p.taskId !== "string" || typeof p.title !== "string") return null;
    if (!/^[0-9a-f-]{36}$/i.test(p.taskId)) return null;
    return p;
  } catch {
    return null;
  }
}

sw.addEventListener("push", (event) => {
  const payload = readPayload(event.data);
  if (!payload) return;
  const permission =
    payload.kind === "needs_input" &&
    payload.requestKind === "permission" &&
    typeof payload.requestId === "string";
  event.waitUntil(
    sw.registration.showNotification(payload.title || "Wegent Edge", {
      body: payload.body,
      // One notification per task: a newer one replaces the older.
      tag: `task-${payload.taskId}`,
      renotify: true,
      requireInteraction: payload.kind === "needs_input",
      icon: "/icon-192.png",
      badge: "/icon-192.png",
      data: payload,
      actions: permission
        ? [
            { action: "allow", title: "Allow" },
            { action: "deny", title: "Deny" },
          ]
        : [],
    }),
  );
});

/** Answers the request through the ordinary answer route (same origin, the session cookie). */
async function answer(payload, behavior) {
  let text;
  try {
    const response = await fetch(`/api/tasks/${payload.taskId}/input/${payload.requestId}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ behavior }),
    });
    if (response.ok) {
      text = behavior === "allow" ? "Allowed: the agent goes on." : "Denied.";
    } else {
      const body = await response.json().catch(() => null);
      text = body?.error?.message ?? `The server answered ${response.status}.`;
      if (response.status === 401) text = "Sign in to Wegent Edge to answer, then try again.";
    }
  } catch {
    text = "Could not reach Wegent Edge: open the task to answer.";
  }
  await sw.registration.showNotification(payload.title || "Wegent Edge", {
    body: text,
    tag: `task-${payload.taskId}`,
    icon: "/icon-192.png",
    data: { ...payload, kind: "answered" },
  });
}

async function openTask(url) {
  const target = new URL(url, sw.location.origin);
  if (target.origin !== sw.location.origin) return;
  const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === sw.location.origin && "focus" in client) {
      await client.navigate(target.href).catch(() => undefined);
      return client.focus();
    }
  }
  return sw.clients.openWindow(target.href);
}

sw.addEventListener("notificationclick", (event) => {
  const payload = event.notification.data;
  event.notification.close();
  if (!payload || typeof payload.taskId !== "string") return;
  const work =
    (event.action === "allow" || event.action === "deny") && payload.requestId
      ? answer(payload, event.action)
      : openTask(payload.url || `/#/tasks/${payload.taskId}`);
  keepAlive(event, work);
});

/** `waitUntil`, which throws for an event the page built itself (tests); the work runs anyway. */
function keepAlive(event, work) {
  try {
    event.waitUntil(work);
  } catch {
    void work;
  }
}
