// Where the Worker may post a push: only to a known push service (so a user cannot make the
// Worker post to an address they pick), and, in local development only, to loopback.

/** Exact hosts, and suffixes (a leading dot) of the push services browsers use. */
const PUSH_HOSTS = [
  "fcm.googleapis.com", // Chrome, Edge on Android, Opera, Samsung
  "android.googleapis.com", // older Chrome subscriptions
  "updates.push.services.mozilla.com", // Firefox
  ".push.services.mozilla.com",
  "web.push.apple.com", // Safari (macOS, iOS 16.4+ Home Screen apps)
  ".push.apple.com",
  ".notify.windows.com", // Edge on Windows (WNS)
];

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function knownPushHost(host: string): boolean {
  return PUSH_HOSTS.some((h) =>
    h.startsWith(".") ? host.endsWith(h) && host.length > h.length : host === h,
  );
}

/**
 * Why `endpoint` is refused as a push subscription's endpoint, or null when it is fine.
 * `allowLoopback` is the dev-only `PUSH_ALLOW_LOOPBACK=1` (npm start, tests).
 */
export function pushEndpointProblem(endpoint: string, allowLoopback: boolean): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "endpoint must be an absolute URL";
  }
  if (url.protocol !== "https:") return "endpoint must be an https:// URL";
  if (url.username || url.password) return "endpoint must not carry credentials";
  const host = url.hostname.toLowerCase();
  if (allowLoopback && LOOPBACK_HOSTS.has(host)) return null;
  if (url.port !== "") return "endpoint must use the push service's standard port";
  if (!knownPushHost(host)) {
    return `endpoint must be on a known push service (FCM, Mozilla, Apple, Windows), not ${host}`;
  }
  return null;
}

/** The push service's host, for showing a subscription without its capability URL. */
export function pushService(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return "unknown";
  }
}
