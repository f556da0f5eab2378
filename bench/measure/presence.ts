// (d) Presence: how fast the platform notices a device going away, cleanly or silently.
import { randomUUID } from "node:crypto";
import type { FakeModel } from "../../e2e/fake-model/server";
import { api, startExecutor } from "../../e2e/harness";
import { ProtocolDevice } from "../lib/device";
import { openTimedLive } from "../lib/live";
import type { BenchUser } from "../lib/platform";
import { sleep } from "../lib/stats";

export interface PresenceResult {
  cleanCloseToReconnectingMs: number;
  silentDeathToReconnectingMs: number;
  silentDeathToTaskFailedMs: number;
  taskErrorCode: string | null;
}

export async function measurePresence(
  origin: string,
  user: BenchUser,
  fake: FakeModel,
): Promise<PresenceResult> {
  const live = await openTimedLive(origin, user.session.cookie);
  const statusAt = (deviceId: string, status: string) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${deviceId} never ${status}`)), 90_000);
      live.onFrame = (f, at) => {
        if (f.type === "device:status" && f.device.id === deviceId && f.device.status === status) {
          clearTimeout(timer);
          resolve(at);
        }
      };
    });
  try {
    // A clean close of a protocol-level device.
    const device = new ProtocolDevice({ origin, token: user.token });
    await device.connect();
    await device.register();
    await sleep(200);
    const reconnecting = statusAt(device.deviceId, "reconnecting");
    const t0 = performance.now();
    device.close(1000);
    const clean = (await reconnecting) - t0;

    // A real executor frozen with SIGSTOP while it runs a task: nothing tells the platform.
    const ex = startExecutor({ origin, token: user.token, modelUrl: fake.url });
    try {
      await ex.waitFor("registered");
      const prompt = `presence ${randomUUID()}`;
      fake.on(prompt, [
        {
          blocks: [{ type: "text", deltas: Array.from({ length: 600 }, () => ".") }],
          delayMs: 100,
        },
      ]);
      const res = await api<{ task: { id: string }; messages: { id: string; role: string }[] }>(
        origin,
        "POST",
        "/api/tasks",
        {
          cookie: user.session.cookie,
          body: { message: prompt, target: { deviceId: ex.deviceId } },
        },
      );
      const messageId = res.body.messages.find((m) => m.role === "assistant")!.id;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the task never streamed")), 60_000);
        live.onFrame = (f) => {
          if (f.type === "message:delta" && f.messageId === messageId) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      const lost = statusAt(ex.deviceId, "reconnecting");
      const frozeAt = performance.now();
      process.kill(ex.child.pid!, "SIGSTOP");
      const detected = (await lost) - frozeAt;
      const failed = new Promise<{ at: number; code: string | null }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the task never failed")), 60_000);
        live.onFrame = (f, at) => {
          if (f.type === "task:status" && f.messageId === messageId && f.status === "failed") {
            clearTimeout(timer);
            resolve({ at, code: f.errorCode });
          }
        };
      });
      const end = await failed;
      return {
        cleanCloseToReconnectingMs: clean,
        silentDeathToReconnectingMs: detected,
        silentDeathToTaskFailedMs: end.at - frozeAt,
        taskErrorCode: end.code,
      };
    } finally {
      try {
        process.kill(ex.child.pid!, "SIGCONT");
      } catch {
        // gone
      }
      await ex.stop("SIGKILL");
    }
  } finally {
    live.close();
  }
}
