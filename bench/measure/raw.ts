// (a) The raw limit on this workerd: round trips on one device socket, with no platform logic.
import { randomUUID } from "node:crypto";
import { PING, PONG } from "@wegent/protocol";
import type { ProtocolDevice } from "../lib/device";
import { type Summary, summarize } from "../lib/stats";

export interface RawResult {
  ping: Summary;
  echo: Summary;
}

/** `ping` → `pong` answered by the runtime (setWebSocketAutoResponse), never waking the hub. */
async function pingPong(device: ProtocolDevice, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no pong within 5 s")), 5_000);
      device.onText = (text, at) => {
        if (text === PONG) {
          clearTimeout(timer);
          resolve(at);
        }
      };
    });
    device.sendRaw(PING);
    samples.push((await got) - t0);
  }
  device.onText = null;
  return samples;
}

/**
 * A JSON round trip through the hub: a valid `task:accepted` for a message the hub does not
 * hold. The hub parses it, reads its SQLite and answers an `error unknown_task` frame — and,
 * unlike a malformed frame, it costs no strike, so it can be repeated.
 */
async function jsonEcho(device: ProtocolDevice, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no error frame within 5 s")), 5_000);
      device.onFrame = (frame, at) => {
        if (frame.type === "error" && frame.code === "unknown_task") {
          clearTimeout(timer);
          resolve(at);
        }
      };
    });
    device.send({ type: "task:accepted", taskId: randomUUID(), messageId: randomUUID() });
    samples.push((await got) - t0);
  }
  device.onFrame = null;
  return samples;
}

export async function measureRaw(device: ProtocolDevice, n: number): Promise<RawResult> {
  await pingPong(device, Math.min(50, n)); // warm-up
  await jsonEcho(device, Math.min(50, n));
  return { ping: summarize(await pingPong(device, n)), echo: summarize(await jsonEcho(device, n)) };
}
