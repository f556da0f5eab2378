// The browser's live channel with arrival times, for latency figures.
import WebSocket from "ws";
import { type LiveFrame, LiveFrame as LiveFrameSchema } from "@wegent/protocol";

export interface TimedLive {
  ws: WebSocket;
  onFrame: ((f: LiveFrame, at: number) => void) | null;
  close(): void;
}

export async function openTimedLive(origin: string, cookie: string): Promise<TimedLive> {
  const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/api/live`, {
    headers: { Cookie: cookie },
    perMessageDeflate: false,
  });
  const live: TimedLive = { ws, onFrame: null, close: () => ws.close() };
  ws.on("message", (data) => {
    const at = performance.now();
    let json: unknown;
    try {
      json = JSON.parse(String(data));
    } catch {
      return;
    }
    const parsed = LiveFrameSchema.safeParse(json);
    if (parsed.success) live.onFrame?.(parsed.data, at);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return live;
}
