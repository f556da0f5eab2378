import WebSocket from "ws";
import { expandDeltas, type LiveFrame, LiveFrame as LiveFrameSchema } from "@wegent/protocol";
import { until } from "./harness";

/** A browser's live channel, as a test sees it: every frame, in order. */
export interface LiveClient {
  frames: LiveFrame[];
  lastSeq: () => number;
  close(): void;
  waitFor<T extends LiveFrame["type"]>(
    type: T,
    where?: (f: Extract<LiveFrame, { type: T }>) => boolean,
    ms?: number,
  ): Promise<Extract<LiveFrame, { type: T }>>;
}

export async function openLive(
  origin: string,
  cookie: string,
  after?: number,
): Promise<LiveClient> {
  const url = `${origin.replace(/^http/, "ws")}/api/live${after === undefined ? "" : `?after=${after}`}`;
  // A browser sends its page's Origin with the upgrade; the platform refuses any other.
  const ws = new WebSocket(url, { headers: { Cookie: cookie, Origin: origin } });
  const frames: LiveFrame[] = [];
  ws.on("message", (data) => {
    const parsed = LiveFrameSchema.safeParse(JSON.parse(String(data)));
    // A batch of deltas reads as its single deltas, each with its own liveSeq.
    if (parsed.success) frames.push(...expandDeltas(parsed.data));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    frames,
    lastSeq: () => frames.reduce((max, f) => Math.max(max, f.liveSeq), 0),
    close: () => ws.close(),
    async waitFor(type, where = () => true, ms = 30_000) {
      return until(
        () =>
          frames.find(
            (f): f is Extract<LiveFrame, { type: typeof type }> =>
              f.type === type && where(f as never),
          ),
        ms,
        `live frame ${type}`,
      ) as never;
    },
  };
}

/** The text of a message as the browser assembles it from its deltas. */
export function streamedText(frames: LiveFrame[], messageId: string): string {
  return frames
    .filter((f) => f.type === "message:delta" && f.messageId === messageId)
    .map((f) => (f.type === "message:delta" && f.event.kind === "text" ? f.event.delta : ""))
    .join("");
}
