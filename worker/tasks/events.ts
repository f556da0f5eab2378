import { expandDeltas, LiveFrame, parseFrame } from "@wegent/protocol";
import { LIVE_HEADERS, userHub } from "../../durable-objects/contract";

// An API client's view of one task as Server-Sent Events. It is the user's live channel,
// filtered to the task: `id:` is the channel's liveSeq, so `Last-Event-ID` resumes exactly.
// A batched `message:deltas` frame is written as one `message:delta` event per delta, each with
// its own liveSeq (the frame covers a range of them), so a resume inside a batch is exact too.

const MAX_STREAM_MS = 15 * 60_000;
const KEEPALIVE_MS = 20_000;

export async function taskEventStream(
  env: Env,
  userId: string,
  taskId: string,
  after: number | null,
  stopWhenIdle: () => Promise<boolean>,
): Promise<Response> {
  const url = new URL("https://hub/live");
  if (after !== null) url.searchParams.set("after", String(after));
  const headers = new Headers({ Upgrade: "websocket" });
  headers.set(LIVE_HEADERS.user, userId);
  const upstream = await userHub(env, userId).fetch(new Request(url, { headers }));
  const ws = upstream.webSocket;
  if (!ws) return new Response("live channel unavailable", { status: 502 });
  ws.accept();

  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    clearInterval(keepalive);
    clearTimeout(cap);
    try {
      ws.close(1000, "done");
    } catch {
      // already closed
    }
    writer.close().catch(() => undefined);
  };
  const write = (text: string) => {
    if (open) writer.write(encoder.encode(text)).catch(end);
  };
  const keepalive = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
  const cap = setTimeout(end, MAX_STREAM_MS);

  write("retry: 1000\n\n");
  ws.addEventListener("message", (event) => {
    const parsed = parseFrame(LiveFrame, typeof event.data === "string" ? event.data : "");
    if (!parsed.ok) return;
    const frame = parsed.frame;
    if (frame.type === "live:hello") {
      write(
        `event: hello\ndata: ${JSON.stringify({ liveSeq: frame.liveSeq, reset: frame.reset })}\n\n`,
      );
      // Nothing is running: end at once, or after the replay when one was asked for.
      const check = () => void stopWhenIdle().then((idle) => idle && end());
      if (after === null) check();
      else setTimeout(check, 500);
      return;
    }
    if (!("taskId" in frame) || frame.taskId !== taskId) return;
    if (frame.type === "message:deltas") {
      let text = "";
      for (const delta of expandDeltas(frame)) {
        if (after !== null && delta.liveSeq <= after) continue; // seen before the resume
        text += `id: ${delta.liveSeq}\nevent: message:delta\ndata: ${JSON.stringify(delta)}\n\n`;
      }
      if (text) write(text);
      return;
    }
    write(`id: ${frame.liveSeq}\nevent: ${frame.type}\ndata: ${JSON.stringify(frame)}\n\n`);
    if (frame.type === "message:done") void stopWhenIdle().then((idle) => idle && end());
  });
  ws.addEventListener("close", end);
  ws.addEventListener("error", end);

  return new Response(readable, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
    },
  });
}
