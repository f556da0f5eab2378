// (w) Where a message's time goes: N messages one at a time through a platform with tracing on
// (its own `wrangler dev`, started after the others so their figures stay untraced), the real
// executor and Claude Code against the fake model; the stages read off each message's trace.
import { randomBytes } from "node:crypto";
import type { TaskWithMessages } from "@wegent/protocol";
import { startFakeModel, text } from "../../e2e/fake-model/server";
import { api, startExecutor, startPlatform, until } from "../../e2e/harness";
import { startOtlpReceiver } from "../../e2e/otlp-receiver";
import { newUser } from "../lib/platform";
import { type WaterfallResult, waterfall } from "./waterfall-report";

const NEEDED = ["DeviceHub completion", "executor first token", "DeviceHub output batch stored"];

export async function measureWaterfall(runs: number): Promise<WaterfallResult> {
  const receiver = await startOtlpReceiver();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
  Object.assign(process.env, otel); // as `npm start` passes its OTEL_* to the Worker
  const platform = await startPlatform().finally(() => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });
  const fake = await startFakeModel();
  const executor = { current: null as ReturnType<typeof startExecutor> | null };
  try {
    fake.on(/waterfall run/, [{ blocks: [text("Measured", " and", " done.")] }]);
    const user = await newUser(platform.origin, "waterfall");
    executor.current = startExecutor({
      origin: platform.origin,
      token: user.token,
      modelUrl: fake.url,
      env: otel,
    });
    await executor.current.waitFor("registered", 60_000);
    const traces: string[] = [];
    for (let i = 0; i < runs; i++) {
      const traceId = randomBytes(16).toString("hex");
      const res = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
        cookie: user.session.cookie!,
        body: { message: `waterfall run ${i + 1}` },
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
      });
      if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
      await until(
        async () => {
          const d = await api<TaskWithMessages>(
            platform.origin,
            "GET",
            `/api/tasks/${res.body.task.id}`,
            { cookie: user.session.cookie! },
          );
          return d.body.messages.at(-1)?.status === "completed";
        },
        60_000,
        `waterfall message ${i + 1} to complete`,
      );
      traces.push(traceId);
    }
    // The executor's batch processor sends within a second or two.
    const byTrace = (id: string) => receiver.spans().filter((s) => s.traceId === id);
    await until(
      () => traces.every((id) => NEEDED.every((n) => byTrace(id).some((s) => s.name === n))),
      30_000,
      "the messages' spans",
    ).catch(() => undefined); // an incomplete trace is counted as such, not fatal
    return waterfall(traces.map(byTrace));
  } finally {
    await executor.current?.stop("SIGTERM");
    await fake.close();
    await platform.stop();
    await receiver.close();
  }
}
