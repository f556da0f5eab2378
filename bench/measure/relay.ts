// (c) Relay: the device's task:progress → message:delta on the browser's live socket.
import { api } from "../../e2e/harness";
import { Outbox } from "../../executor/src/connection/outbox";
import { doneFrame, outboxDone, type ProtocolDevice } from "../lib/device";
import { openTimedLive } from "../lib/live";
import type { BenchUser } from "../lib/platform";
import { sleep, type Summary, summarize } from "../lib/stats";

export interface RateStep {
  rate: number;
  sent: number;
  delivered: number;
  inOrderOnce: boolean;
  /** Last frame's arrival after the last send, ms: a growing backlog shows here. */
  lagMs: number;
  /** Frames per second the browser actually received over the step. */
  achieved: number;
  sustained: boolean;
}

export interface RelayResult {
  latency: Summary;
  steps: RateStep[];
  bestSustained: number;
}

async function startMessage(
  origin: string,
  user: BenchUser,
  device: ProtocolDevice,
  label: string,
) {
  const res = await api<{ task: { id: string }; messages: { id: string; role: string }[] }>(
    origin,
    "POST",
    "/api/tasks",
    {
      cookie: user.session.cookie,
      body: { message: label, target: { deviceId: device.deviceId } },
    },
  );
  if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
  const messageId = res.body.messages.find((m) => m.role === "assistant")!.id;
  await device.waitFor((f) => f.type === "task:execute" && f.messageId === messageId, 10_000);
  return { taskId: res.body.task.id, messageId };
}

function progress(taskId: string, messageId: string, seq: number) {
  return JSON.stringify({
    type: "task:progress",
    taskId,
    messageId,
    seq,
    event: { kind: "text", offset: seq - 1, delta: "x" },
  });
}

function complete(device: ProtocolDevice, taskId: string, messageId: string, seq: number) {
  device.send(doneFrame(taskId, messageId, seq, "x".repeat(seq - 1)));
}

export async function measureRelay(
  origin: string,
  user: BenchUser,
  device: ProtocolDevice,
  options: { n: number; rates: number[]; stepSeconds: number },
): Promise<RelayResult> {
  const live = await openTimedLive(origin, user.session.cookie);
  try {
    // Latency: one frame at a time.
    const m = await startMessage(origin, user, device, "relay latency");
    const samples: number[] = [];
    for (let seq = 1; seq <= options.n; seq++) {
      const t0 = performance.now();
      const got = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`delta ${seq} not relayed in 5 s`)), 5_000);
        live.onFrame = (f, at) => {
          if (f.type === "message:delta" && f.messageId === m.messageId && f.seq === seq) {
            clearTimeout(timer);
            resolve(at);
          }
        };
      });
      device.sendRaw(progress(m.taskId, m.messageId, seq));
      samples.push((await got) - t0);
    }
    complete(device, m.taskId, m.messageId, options.n + 1);

    // Throughput: increasing rates, a few seconds each, stop at the first one not sustained.
    const steps: RateStep[] = [];
    for (const rate of options.rates) {
      const s = await startMessage(origin, user, device, `relay rate ${rate}`);
      const seen: number[] = [];
      let lastAt = 0;
      live.onFrame = (f, at) => {
        if (f.type === "message:delta" && f.messageId === s.messageId) {
          seen.push(f.seq);
          lastAt = at;
        }
      };
      const total = Math.round(rate * options.stepSeconds);
      // Sent the way wegent-executor sends: through its own outbox (first event at once, the
      // rest batched while a frame is unacknowledged), acks fed back from the hub.
      const outbox = new Outbox((frame) => {
        device.send(frame);
        return true;
      });
      outbox.open(s.taskId, s.messageId);
      device.onFrame = (f) => {
        if (f.type === "task:ack" && f.messageId === s.messageId) outbox.ack(f.messageId, f.seq);
      };
      const started = performance.now();
      let sent = 0;
      // Send on a 5 ms tick, as many events as the schedule owes by now.
      while (sent < total) {
        const owed = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
        while (sent < owed) {
          outbox.push({
            type: "task:progress",
            taskId: s.taskId,
            messageId: s.messageId,
            event: { kind: "text", offset: sent, delta: "x" },
          });
          sent += 1;
        }
        await sleep(5);
      }
      const lastSent = performance.now();
      const deadline = Date.now() + 15_000;
      while (seen.length < total && Date.now() < deadline) await sleep(20);
      await sleep(200); // duplicates, if any, would show up here
      const inOrderOnce = seen.length === total && seen.every((v, i) => v === i + 1);
      const lagMs = lastAt - lastSent;
      const achieved = seen.length / ((lastAt - started) / 1000);
      const step: RateStep = {
        rate,
        sent: total,
        delivered: seen.length,
        inOrderOnce,
        lagMs,
        achieved,
        sustained: inOrderOnce && lagMs <= 1_000,
      };
      steps.push(step);
      outbox.push(outboxDone(s.taskId, s.messageId, "x".repeat(total)));
      // Let the hub drain before the next step (bounded); a backlog here is the figure above.
      await device
        .waitFor(
          (f) => f.type === "task:ack" && f.messageId === s.messageId && f.seq === total + 1,
          60_000,
        )
        .catch(() => undefined);
      device.onFrame = null;
      if (!step.sustained) break;
    }
    live.onFrame = null;
    const best = steps.filter((s) => s.sustained).at(-1)?.rate ?? 0;
    return { latency: summarize(samples), steps, bestSustained: best };
  } finally {
    live.close();
  }
}
