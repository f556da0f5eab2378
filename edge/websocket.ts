/** True when the request asks for a WebSocket upgrade (the one check, for Worker and hubs). */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("Upgrade")?.toLowerCase() === "websocket";
}

/** Answers a peer's close (1005/1006 are not sendable codes, so those become 1000). */
export function closeBack(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  } catch {
    // already closed
  }
}
