import { PushKeyBody, PushSubscriptionBody } from "@wegent/protocol";
import { api, ApiFailure } from "../api";

// The installable app and Web Push on this browser: the service worker, the subscription, the
// iOS Home Screen hint, and the app badge.

export function serviceWorkerSupported(): boolean {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator;
}

export function pushSupported(): boolean {
  return serviceWorkerSupported() && typeof window !== "undefined" && "PushManager" in window;
}

/** Registers /sw.js (the app shell cache and the push handler); quietly a no-op without. */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!serviceWorkerSupported()) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    return null;
  }
}

/** iOS Safari outside a Home Screen app: push needs the app added to the Home Screen first. */
export function iosNeedsHomeScreen(nav: Navigator = navigator, win: Window = window): boolean {
  const ios =
    /iPad|iPhone|iPod/.test(nav.userAgent) ||
    (nav.platform === "MacIntel" &&
      (nav as Navigator & { maxTouchPoints: number }).maxTouchPoints > 1);
  const standalone =
    win.matchMedia?.("(display-mode: standalone)").matches ||
    (nav as Navigator & { standalone?: boolean }).standalone === true;
  return ios && !standalone;
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const s = atob(base64url.replaceAll("-", "+").replaceAll("_", "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A short label for this browser in the list ("Chrome on Android"). */
export function browserLabel(ua: string = navigator.userAgent): string {
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrome\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : "Browser";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad|iPod/.test(ua)
      ? "iOS"
      : /Mac OS X/.test(ua)
        ? "macOS"
        : /Windows/.test(ua)
          ? "Windows"
          : /Linux/.test(ua)
            ? "Linux"
            : "";
  return os ? `${browser} on ${os}` : browser;
}

/** This browser's current push endpoint, if it is subscribed. */
export async function currentEndpoint(): Promise<string | null> {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration("/");
  const sub = await reg?.pushManager.getSubscription();
  return sub?.endpoint ?? null;
}

/**
 * Asks the user's permission (from a click), subscribes this browser with the server's VAPID
 * key and registers the subscription. Returns its id, or throws with a sentence to show.
 */
export async function enablePush(): Promise<string> {
  if (!pushSupported()) {
    throw new ApiFailure(0, "push_unsupported", "This browser cannot receive push notifications.");
  }
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new ApiFailure(
      0,
      "push_denied",
      "Notifications are blocked for this site: allow them in the browser's site settings.",
    );
  }
  const { publicKey } = await api("GET", "/api/push/key", PushKeyBody);
  const reg = (await registerServiceWorker()) ?? (await navigator.serviceWorker.ready);
  await navigator.serviceWorker.ready;
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(publicKey),
    }));
  const json = sub.toJSON();
  const body = await api("POST", "/api/push/subscriptions", PushSubscriptionBody, {
    endpoint: sub.endpoint,
    keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
    label: browserLabel(),
  });
  return body.subscription.id;
}

/** The app badge (Badging API, where there is one): the number of things waiting. */
export function setAppBadge(count: number): void {
  const nav = navigator as Navigator & {
    setAppBadge?: (n?: number) => Promise<void>;
    clearAppBadge?: () => Promise<void>;
  };
  if (count > 0) void nav.setAppBadge?.(count).catch(() => undefined);
  else void nav.clearAppBadge?.().catch(() => undefined);
}
