/** True when the request asks for a WebSocket upgrade (the one check, for Worker and hubs). */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("Upgrade")?.toLowerCase() === "websocket";
}
