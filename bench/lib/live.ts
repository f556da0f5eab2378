// The browser's live channel with arrival times, for latency figures.
import WebSocket from "ws";
import { expandDeltas, type LiveFrame, LiveFrame as LiveFrameSchema } from "@wegent/protocol";

export interface TimedLive {
  ws: WebSocket;
  /** Every frame, a batch of deltas as its single `message:delta` frames. */
  onFrame: ((f: LiveFrame, at: number) => void) | null;
  /** WebSocket messages received so far (a batch is one). */
  messages: number;
  close(): void;
}

export async function openTimedLive(origin: string, cookie: string): Promise<TimedLive> {
  const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/api/live`, {
    headers: { Cookie: cookie, Origin: origin },
    perMessageDeflate: false,
  });
  const live: TimedLive = { ws, onFrame: null, messages: 0, close: () => ws.close() };
  ws.on("message", (data) => {
    const at = performance.now();
    let json: unknown;
    try {
      json = JSON.parse(String(data));
    } catch {
      return;
    }
    const parsed = LiveFrameSchema.safeParse(json);
    if (!parsed.success) return;
    live.messages += 1;
    for (const frame of expandDeltas(parsed.data)) live.onFrame?.(frame, at);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return live;
}
