// The traces e2e's world: a loopback OTLP receiver, the real platform (`wrangler dev`) started
// the way `npm start` passes OTEL_* to it, the fake model, a signed-up user with a token and
// the real executor. Shared by e2e/traces.test.ts, traces-browser.test.ts and traces-off.test.ts.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeModel, startFakeModel } from "./fake-model/server";
import {
  createToken,
  type ExecutorProcess,
  type Platform,
  ROOT,
  type Session,
  signUp,
  startExecutor,
  startPlatform,
  until,
} from "./harness";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver";
import type { SeenSpan } from "../edge/telemetry/otlp-walk";

export interface TracedStack {
  receiver: OtlpReceiver;
  platform: Platform;
  fake: FakeModel;
  user: Session;
  token: string;
  executor: ExecutorProcess;
  /** The OTEL_* the Worker and the executor got (empty when off), for more executors. */
  otelEnv: Record<string, string>;
  /** The `@opentelemetry/*` modules the executor process resolved (e2e/module-probe.mjs). */
  executorOtelModules(): string[];
  stop(): Promise<void>;
}

export interface TracedStackOptions {
  username: string;
  /** The OTEL_* given to the Worker and the executor; null: none at all (tracing off). */
  otel: Record<string, string> | null;
  /**
   * Which parts get the OTEL_* (default both): the Worker and its hubs only, or the executor
   * only, to tell their overheads apart (bench/trace-overhead.ts --traced).
   */
  tracedParts?: "both" | "worker" | "executor";
  /** More variables for the executor only (e.g. a shorter metrics interval). */
  executorEnv?: Record<string, string>;
  /** Where the receiver listens (default: a free loopback port). */
  receiverPort?: number;
}

/** Every OTEL_* variable of this process, removed while `work` runs (then put back). */
async function withoutOtelEnv<T>(work: () => Promise<T>): Promise<T> {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith("OTEL_"));
  for (const [k] of saved) delete process.env[k];
  try {
    return await work();
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
}

export async function startTracedStack(options: TracedStackOptions): Promise<TracedStack> {
  const receiver = await startOtlpReceiver(options.receiverPort ?? 0);
  const started: { stop(): Promise<unknown> }[] = [{ stop: () => receiver.close() }];
  try {
    return await startRest(options, receiver, started);
  } catch (error) {
    // A failed start leaves nothing running on the shared machine.
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    throw error;
  }
}

async function startRest(
  options: TracedStackOptions,
  receiver: OtlpReceiver,
  started: { stop(): Promise<unknown> }[],
): Promise<TracedStack> {
  const otel = options.otel
    ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...options.otel }
    : null;
  // As `npm start` does: the OTEL_* of the environment wrangler-dev.mjs runs in become the
  // Worker's bindings (not arguments: the headers are a secret). Off: none, not even the
  // developer's own.
  const parts = options.tracedParts ?? "both";
  const workerOtel = parts === "executor" ? null : otel;
  const executorOtel = parts === "worker" ? null : otel;
  const platform = await withoutOtelEnv(async () => {
    if (workerOtel) Object.assign(process.env, workerOtel);
    try {
      return await startPlatform();
    } finally {
      for (const name of Object.keys(workerOtel ?? {})) delete process.env[name];
    }
  });
  started.push(platform);
  const fake = await startFakeModel();
  started.push({ stop: () => fake.close() });
  const user = await signUp(platform.origin, options.username);
  const token = (await createToken(platform.origin, user)).token;
  const moduleLog = join(mkdtempSync(join(tmpdir(), "wegent-modules-")), "otel-modules.log");
  const executor = startExecutor({
    origin: platform.origin,
    token,
    modelUrl: fake.url,
    env: {
      ...executorOtel,
      ...options.executorEnv,
      NODE_OPTIONS: `--import=${join(ROOT, "e2e/module-probe.mjs")}`,
      WEGENT_E2E_MODULE_LOG: moduleLog,
    },
  });
  started.push({ stop: () => executor.stop("SIGKILL") });
  await executor.waitFor("registered", 60_000);
  return {
    receiver,
    platform,
    fake,
    user,
    token,
    executor,
    otelEnv: { ...otel },
    executorOtelModules() {
      let text = "";
      try {
        text = readFileSync(moduleLog, "utf8");
      } catch {
        // nothing resolved: no file
      }
      const pid = `${executor.child.pid} `;
      return text
        .split("\n")
        .filter((line) => line.startsWith(pid))
        .map((line) => line.slice(pid.length));
    },
    async stop() {
      await executor.stop("SIGKILL");
      await fake.close();
      await platform.stop();
      await receiver.close();
    },
  };
}

/** The spans of one trace, once every `wanted` name has arrived (the executor exports in ~1 s). */
export function spansOfTrace(
  receiver: OtlpReceiver,
  traceId: string,
  wanted: string[],
  ms = 30_000,
): Promise<SeenSpan[]> {
  return until(
    async () => {
      const all = receiver.spans().filter((s) => s.traceId === traceId);
      return wanted.every((n) => all.some((s) => s.name === n)) ? all : undefined;
    },
    ms,
    `the spans of trace ${traceId} (${wanted.join(", ")})`,
  );
}
