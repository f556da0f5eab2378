// Fuzzed frames at the hub: bad JSON, wrong types, huge frames, binary, unknown types and
// out-of-order sequence numbers. The hub must answer each with an error (or an ack for a
// duplicate), close after 10 malformed frames with 4008, and stay up.
import { randomUUID } from "node:crypto";
import { CloseCode, MAX_FRAME_BYTES } from "@wegent/protocol";
import { ProtocolDevice } from "../lib/device";
import { createTask, expectThat, type Scenario, taskDetail } from "./context";
import type { BenchUser } from "../lib/platform";
import { until } from "../../e2e/harness";

/** Deterministic pseudo-random numbers, so a failing run can be repeated. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Kind = "strike" | "unknown_task" | "out_of_order" | "duplicate";
interface Fuzzed {
  kind: Kind;
  data: string | Buffer;
}

function malformed(r: () => number, big: string): Fuzzed {
  const uuid = randomUUID();
  const choices: (() => string | Buffer)[] = [
    () => "{not json",
    () => "",
    () => String(Math.floor(r() * 1e9)),
    () => "null",
    () => "[]",
    () => '"device:register"',
    () => JSON.stringify({ type: "device:nonsense" }),
    () => JSON.stringify({ type: 42 }),
    () => JSON.stringify({}),
    () => JSON.stringify({ type: "task:progress", taskId: 1, messageId: uuid, seq: "1" }),
    () =>
      JSON.stringify({ type: "task:progress", taskId: uuid, messageId: uuid, seq: -1, event: {} }),
    () => JSON.stringify({ type: "device:heartbeat", runningTaskIds: "all" }),
    () => JSON.stringify({ type: "device:register", maxSlots: "five" }),
    () => JSON.stringify({ type: "task:accepted", taskId: "x".repeat(5000), messageId: uuid }),
    () => JSON.stringify({ type: "__proto__", constructor: { prototype: { polluted: true } } }),
    () => `{"type":"task:complete","text":"${"\\u0000".repeat(50)}"`,
    () => Buffer.from([0, 1, 2, 255]),
    () => big,
  ];
  return { kind: "strike", data: choices[Math.floor(r() * choices.length)]!() };
}

export async function fuzzHub(origin: string, user: BenchUser, total: number, seed = 7) {
  const r = rng(seed);
  const big = `{"type":"task:progress","pad":"${"x".repeat(MAX_FRAME_BYTES + 16)}"}`;
  const device = new ProtocolDevice({ origin, token: user.token, maxSlots: 1 });
  await device.connect();
  await device.register();
  // A running task, so sequenced frames reach the seq check.
  const { taskId, messageId } = await createTask(origin, user, "fuzz target", device.deviceId);
  await device.waitFor((f) => f.type === "task:execute" && f.messageId === messageId, 10_000);
  device.send({
    type: "task:progress",
    taskId,
    messageId,
    seq: 1,
    event: { kind: "text", offset: 0, delta: "a" },
  });
  await device.waitFor((f) => f.type === "task:ack" && f.seq === 1, 5_000);

  let sent = 0;
  let answered = 0;
  let abuseCloses = 0;
  let otherCloses = 0;
  while (sent < total) {
    // One connection takes up to 40 frames the hub answers without a strike, then 10 strikes.
    const batch: Fuzzed[] = [];
    const valid = Math.min(40, total - sent);
    for (let i = 0; i < valid; i++) {
      const pick = r();
      const progress = (seq: number, id = messageId) =>
        JSON.stringify({
          type: "task:progress",
          taskId,
          messageId: id,
          seq,
          event: { kind: "text", offset: 1, delta: "b" },
        });
      if (pick < 0.4)
        batch.push({ kind: "out_of_order", data: progress(3 + Math.floor(r() * 1e6)) });
      else if (pick < 0.7) batch.push({ kind: "duplicate", data: progress(1) });
      else batch.push({ kind: "unknown_task", data: progress(1, randomUUID()) });
    }
    const strikes = Math.min(10, total - sent - valid);
    for (let i = 0; i < strikes; i++) batch.push(malformed(r, big));
    let got = 0;
    const counted = (f: { type: string }) => {
      if (f.type === "error" || f.type === "task:ack") got += 1;
    };
    device.onFrame = counted;
    for (const frame of batch) {
      if (typeof frame.data === "string") device.sendRaw(frame.data);
      else device.ws?.send(frame.data);
    }
    sent += batch.length;
    // Out-of-order frames get an error and an ack: two answers.
    const expected = batch.reduce((n, f) => n + (f.kind === "out_of_order" ? 2 : 1), 0);
    try {
      await until(() => got >= expected || device.closeCode !== null, 15_000, "answers");
    } catch {
      // counted below
    }
    if (strikes === 10) {
      const code = await device.closed(5_000);
      if (code === CloseCode.protocolAbuse) abuseCloses += 1;
      else otherCloses += 1;
    }
    await until(() => got >= expected, 2_000, "late answers").catch(() => undefined);
    answered += Math.min(got, expected);
    expectThat(
      got >= expected,
      `batch of ${batch.length}: ${got} answers, expected ${expected} (close ${device.closeCode})`,
    );
    if (!device.open) {
      await device.connect();
      await device.register([taskId]);
    }
  }
  device.onFrame = null;
  // Still up and still correct: the real next frame is stored and the task completes.
  device.send({
    type: "task:complete",
    taskId,
    messageId,
    seq: 2,
    text: "a",
    sessionId: null,
    usage: null,
    costUsd: null,
  });
  await device.waitFor((f) => f.type === "task:ack" && f.seq === 2, 10_000);
  const detail = await taskDetail(origin, user, taskId);
  expectThat(detail.task.status === "completed", `the fuzzed task ended ${detail.task.status}`);
  expectThat(detail.messages.at(-1)?.content === "a", "the fuzzed task's content was corrupted");
  device.close();
  expectThat(otherCloses === 0, `${otherCloses} connection(s) closed with another code than 4008`);
  return { sent, answered, abuseCloses };
}

export function fuzzScenario(total: number): Scenario {
  return {
    name: `${total.toLocaleString("en-US")} fuzzed frames`,
    async run(ctx) {
      const user = await ctx.newUser();
      const started = Date.now();
      const r = await fuzzHub(ctx.platform.origin, user, total);
      const health = await fetch(`${ctx.platform.origin}/api/health`);
      expectThat(health.ok, `health answered ${health.status} after the fuzz`);
      return `${r.sent} frames, ${r.answered} answered, ${r.abuseCloses} closes with 4008, ${((Date.now() - started) / 1000).toFixed(1)} s; task intact`;
    },
  };
}
