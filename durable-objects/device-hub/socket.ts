import type { HubFrame } from "@wegent/protocol";

/** Serialized on the executor's socket, so it survives hibernation. */
export interface SocketAttachment {
  connId: string;
  connectedAt: number;
  strikes: number;
}

export const EXECUTOR_TAG = "executor";

export function attachment(ws: WebSocket): SocketAttachment | null {
  return ws.deserializeAttachment() as SocketAttachment | null;
}

/** The socket that may receive tasks (the one `connId` names), if it is still open. */
export function findSocket(ctx: DurableObjectState, connId: string | null): WebSocket | null {
  if (!connId) return null;
  for (const ws of ctx.getWebSockets(EXECUTOR_TAG)) {
    if (attachment(ws)?.connId === connId) return ws;
  }
  return null;
}

export function sendFrame(ws: WebSocket | null, frame: HubFrame): void {
  if (!ws) return;
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // The socket is closing; the close handler takes over.
  }
}

/** The executor's link as the slots see it: frames to one socket. */
export const linkTo = (ws: WebSocket) => ({ send: (frame: HubFrame) => sendFrame(ws, frame) });
