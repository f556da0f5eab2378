// (j) One user's live channel under load: D devices × T streaming tasks each (one user, D×T
// streams), each sent through the executor's own outbox (executor/src/connection/outbox.ts) at a steady
// rate. End lag per stream = the browser live socket's last `message:delta` − the device's last
// send; every seq must arrive exactly once, in order.
import { api } from "../../e2e/harness";
import { Outbox } from "../../executor/src/connection/outbox";
import { connectDevice, outboxDone, type ProtocolDevice } from "../lib/device";
import { openTimedLive } from "../lib/live";
import type { BenchUser } from "../lib/platform";
import { sleep, type Summary, summarize } from "../lib/stats";

export interface StreamsResult {
  devices: number;
  perDevice: number;
  streams: number;
  rate: number;
  seconds: number;
  /** End lag per stream (ms). */
  lag: Summary;
  lossless: number;
  lost: number;
  repeated: number;
  deltasPerSecond: number;
  liveMessages: number;
}

interface Stream {
  device: ProtocolDevice;
  taskId: string;
  messageId: string;
  seen: number[];
  lastAt: number;
  lastSent: number;
}

export async function measureStreams(
  origin: string,
  user: BenchUser,
  options: { devices: number; perDevice: number; rate: number; seconds: number },
): Promise<StreamsResult> {
  const devices: ProtocolDevice[] = [];
  for (let i = 0; i < options.devices; i++) {
    devices.push(await connectDevice({ origin, token: user.token, maxSlots: options.perDevice }));
  }
  const live = await openTimedLive(origin, user.session.cookie);
  try {
    const streams: Stream[] = [];
    for (const device of devices) {
      for (let k = 0; k < options.perDevice; k++) {
        const res = await api<{ task: { id: string }; messages: { id: string; role: string }[] }>(
          origin,
          "POST",
          "/api/tasks",
          {
            cookie: user.session.cookie,
            body: { message: `stream ${k}`, target: { deviceId: device.deviceId } },
          },
        );
        if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
        const messageId = res.body.messages.find((m) => m.role === "assistant")!.id;
        await device.waitFor((f) => f.type === "task:execute" && f.messageId === messageId);
        streams.push({
          device,
          taskId: res.body.task.id,
          messageId,
          seen: [],
          lastAt: 0,
          lastSent: 0,
        });
      }
    }
    const byMessage = new Map(streams.map((s) => [s.messageId, s]));
    live.onFrame = (f, at) => {
      if (f.type !== "message:delta") return;
      const s = byMessage.get(f.messageId);
      if (!s) return;
      s.seen.push(f.seq);
      s.lastAt = at;
    };
    const messagesBefore = live.messages;
    // One outbox per device, as one wegent-executor has, acks fed back from the hub.
    const outboxes = new Map<ProtocolDevice, Outbox>();
    for (const device of devices) {
      const outbox = new Outbox((frame) => {
        device.send(frame);
        return true;
      });
      device.onFrame = (f) => {
        if (f.type === "task:ack") outbox.ack(f.messageId, f.seq);
      };
      outboxes.set(device, outbox);
    }
    for (const s of streams) outboxes.get(s.device)!.open(s.taskId, s.messageId);
    const total = Math.round(options.rate * options.seconds);
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const owed = Math.min(
        total,
        Math.floor(((performance.now() - started) / 1000) * options.rate),
      );
      for (; sent < owed; sent++) {
        for (const s of streams) {
          outboxes.get(s.device)!.push({
            type: "task:progress",
            taskId: s.taskId,
            messageId: s.messageId,
            event: { kind: "text", offset: sent, delta: "x" },
          });
          s.lastSent = performance.now();
        }
      }
      await sleep(5);
    }
    const deadline = Date.now() + 30_000;
    while (streams.some((s) => s.seen.length < total) && Date.now() < deadline) await sleep(20);
    await sleep(300); // repeats, if any, would show up here
    const firstAt = started;
    const lastAt = Math.max(...streams.map((s) => s.lastAt));
    const received = streams.reduce((n, s) => n + s.seen.length, 0);
    let lost = 0;
    let repeated = 0;
    let lossless = 0;
    for (const s of streams) {
      const unique = new Set(s.seen).size;
      lost += total - unique;
      repeated += s.seen.length - unique;
      if (s.seen.length === total && s.seen.every((v, i) => v === i + 1)) lossless += 1;
    }
    const result: StreamsResult = {
      devices: options.devices,
      perDevice: options.perDevice,
      streams: streams.length,
      rate: options.rate,
      seconds: options.seconds,
      lag: summarize(streams.map((s) => s.lastAt - s.lastSent)),
      lossless,
      lost,
      repeated,
      deltasPerSecond: received / ((lastAt - firstAt) / 1000),
      liveMessages: live.messages - messagesBefore,
    };
    for (const s of streams) {
      outboxes.get(s.device)!.push(outboxDone(s.taskId, s.messageId, "x".repeat(total)));
    }
    await Promise.all(
      streams.map((s) =>
        s.device
          .waitFor(
            (f) => f.type === "task:ack" && f.messageId === s.messageId && f.seq === total + 1,
            30_000,
          )
          .catch(() => undefined),
      ),
    );
    return result;
  } finally {
    live.close();
    for (const d of devices) d.close();
  }
}
