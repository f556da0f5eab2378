import { useEffect, useState } from "react";

// Hash routes: the Worker serves the SPA at `/` only, so deep links must not need the server.
export type Route =
  | { page: "chat"; taskId: string | null }
  | { page: "devices" }
  | { page: "skills"; deviceId: string }
  | { page: "tokens" }
  | { page: "settings" }
  | { page: "inbox" };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "");
  if (path === "/devices") return { page: "devices" };
  if (path === "/settings/tokens") return { page: "tokens" };
  const skills = /^\/devices\/([\w-]+)\/skills$/.exec(path);
  if (skills?.[1]) return { page: "skills", deviceId: skills[1] };
  if (path === "/settings") return { page: "settings" };
  if (path === "/inbox") return { page: "inbox" };
  const task = /^\/tasks\/([\w-]+)$/.exec(path);
  return { page: "chat", taskId: task?.[1] ?? null };
}

export const href = {
  newChat: "#/",
  task: (taskId: string) => `#/tasks/${taskId}`,
  devices: "#/devices",
  skills: (deviceId: string) => `#/devices/${deviceId}/skills`,
  tokens: "#/settings/tokens",
  settings: "#/settings",
  inbox: "#/inbox",
};

export function navigate(to: string): void {
  window.location.hash = to;
}

/**
 * The pairing link an executor prints is `<origin>/devices?pair=ABCD-EFGH` (a real path, so it
 * reads well in a terminal). Taken once at start: the code is kept in memory, the address bar
 * becomes `/#/devices`, and the Devices page pre-fills its approve form with it.
 */
let pendingPairCode: string | null = null;

export function takePairLink(location: Location, history: History): void {
  if (location.pathname !== "/devices") return;
  const code = new URLSearchParams(location.search).get("pair");
  pendingPairCode = code && /^[A-Za-z0-9-]{8,9}$/.test(code) ? code.toUpperCase() : null;
  history.replaceState(null, "", "/#/devices");
}

/** The pairing code from the link, once. */
export function consumePairCode(): string | null {
  const code = pendingPairCode;
  pendingPairCode = null;
  return code;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}
