import type { HubFrame } from "@wegent/protocol";
import type { Connection } from "partyserver";

/** The executor's connection state, kept by partyserver in the socket's attachment. */
export interface SocketState {
  connectedAt: number;
  strikes: number;
}

/** The executor's socket: a partyserver connection whose `id` names it. */
export type ExecutorSocket = Connection<SocketState>;

export const EXECUTOR_TAG = "executor";

/** Counts one malformed frame against the socket; returns its strikes so far. */
export function strike(ws: ExecutorSocket): number {
  const strikes = (ws.state?.strikes ?? 0) + 1;
  ws.setState({ connectedAt: ws.state?.connectedAt ?? Date.now(), strikes });
  return strikes;
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
