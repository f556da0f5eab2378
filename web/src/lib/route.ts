import { useEffect, useState } from "react";

// Hash routes: the Worker serves the SPA at `/` only, so deep links must not need the server.
export type Route =
  | { page: "chat"; taskId: string | null }
  | { page: "devices" }
  | { page: "skills"; deviceId: string }
  | { page: "tokens" }
  | { page: "settings" };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "");
  if (path === "/devices") return { page: "devices" };
  if (path === "/settings/tokens") return { page: "tokens" };
  const skills = /^\/devices\/([\w-]+)\/skills$/.exec(path);
  if (skills?.[1]) return { page: "skills", deviceId: skills[1] };
  if (path === "/settings") return { page: "settings" };
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
};

export function navigate(to: string): void {
  window.location.hash = to;
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
