// `npm run bench`: measures the platform on loopback and rewrites docs/benchmarks.md.
// Flags: --quick (< 2 min), --devices N (scale, up to 4000), --dispatches N, --only a,b,…,j,w
// (w: the waterfall from traces; `--only w` rewrites only its section of the docs), --no-docs, --fleet-auth credential|token ((e)'s devices). Every loop is bounded; the run stops
// by itself.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeModel } from "../e2e/fake-model/server";
import { ROOT, startPlatform } from "../e2e/harness";
import { connectDevice } from "./lib/device";
import { machine, machineLine } from "./lib/machine";
import { loadavg } from "node:os";
import { newUser, runtimeOrigin } from "./lib/platform";
import { type BenchResults, benchmarksDoc, table } from "./measure/report";
import { measureArchive } from "./measure/archive";
import { measureDirect } from "./measure/direct";
import { measureDispatch } from "./measure/dispatch";
import { measureExecutor } from "./measure/executor";
import { measurePresence } from "./measure/presence";
import { measureRaw } from "./measure/raw";
import { measureRelay } from "./measure/relay";
import { measureScale } from "./measure/scale";
import { measureStreams } from "./measure/streams";
import { measureIdle } from "./measure/idle";
import { measureStream } from "./measure/stream";
import { measureRoundTrips } from "./measure/round-trips";
import { measureWaterfall } from "./measure/waterfall";
import { waterfallDoc, waterfallText, withWaterfall } from "./measure/waterfall-report";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    devices: { type: "string" },
    dispatches: { type: "string" },
    only: { type: "string", default: "a,b,c,d,e,f,g,h,i,j,w" },
    "no-docs": { type: "boolean", default: false },
    /** (e) the fleet connects as wegent-executor (credential) or with the bare token. */
    "fleet-auth": { type: "string", default: "credential" },
    /** (g) runs both by default; `--stream-modes unbatched` for a platform without batching. */
    "stream-modes": { type: "string", default: "unbatched,batched" },
  },
});
const quick = values.quick;
const settings = {
  rawN: quick ? 500 : 2000,
  dispatches: Number(values.dispatches ?? (quick ? 200 : 1000)),
  relayN: quick ? 200 : 1000,
  rates: [250, 500, 1000, 2000, 5000, 10000],
  stepSeconds: quick ? 1.5 : 3,
  devices: Math.min(4000, Number(values.devices ?? (quick ? 200 : 1000))),
  loadDispatches: quick ? 100 : 300,
  queuedDevices: quick ? 10 : 50,
  executorRuns: quick ? 2 : 5,
  deltas: 10_000,
  aloneRuns: quick ? 2 : 3,
  steadyTasks: 5,
  steadySeconds: quick ? 5 : 10,
  idleSeconds: quick ? 30 : 90,
  archiveMiB: quick ? 50 : 200,
  liveDevices: 5,
  liveTasks: 5,
  liveRate: 200,
  liveSeconds: quick ? 5 : 10,
  waterfallRuns: quick ? 5 : 15,
};
const only = new Set(values.only.split(","));
const started = Date.now();
// BENCH_METERS exposes the hubs' work counters to the bench (cost figures); off by default.
const platform = await startPlatform({ vars: { BENCH_METERS: "1" } });
const fake = await startFakeModel();
const results: BenchResults = { settings, quick, machine: machine() };
const step = (label: string) => console.log(`… ${label}`);
const errors: string[] = [];
/** One section failing (a timeout, a refused connection) is reported, not fatal to the rest. */
async function guard(section: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (error) {
    const cause = error instanceof Error && error.cause ? ` (${String(error.cause)})` : "";
    const text = `(${section}) failed: ${error instanceof Error ? error.message : String(error)}${cause}`;
    errors.push(text);
    console.log(`  ${text}`);
  }
}
try {
  const user = await newUser(platform.origin);
  const device = await connectDevice({
    origin: platform.origin,
    token: user.token,
    autoComplete: true,
  });
  if (only.has("a")) {
    await guard("a", async () => {
      step(`(a) raw round trips ×${settings.rawN}`);
      results.raw = await measureRaw(device, settings.rawN);
    });
  }
  if (only.has("b")) {
    await guard("b", async () => {
      step(`(b) dispatch ×${settings.dispatches}`);
      results.dispatch = await measureDispatch(platform.origin, user, device, settings.dispatches);
      results.roundTrips = await measureRoundTrips(platform.origin, user, device);
    });
  }
  if (only.has("c")) {
    await guard("c", async () => {
      step(`(c) relay ×${settings.relayN}, then rates ${settings.rates.join("/")} frames/s`);
      device.options.autoComplete = false;
      results.relay = await measureRelay(platform.origin, user, device, {
        n: settings.relayN,
        rates: settings.rates,
        stepSeconds: settings.stepSeconds,
      });
      device.options.autoComplete = true;
    });
  }
  device.close();
  if (only.has("a") && only.has("b") && only.has("c")) {
    await guard("a–c direct", async () => {
      const direct = await runtimeOrigin(platform.port);
      if (!direct) throw new Error("the Worker's own address inside wrangler dev was not found");
      step(`(a)–(c) again, straight to the runtime at ${direct} (wrangler's dev proxy bypassed)`);
      results.direct = await measureDirect(direct, user, {
        raw: settings.rawN,
        dispatches: settings.dispatches,
        relay: settings.relayN,
      });
    });
  }
  if (only.has("f")) {
    await guard("f", async () => {
      step(`(f) executor start ×${settings.executorRuns}`);
      results.executor = await measureExecutor(
        platform.origin,
        user.token,
        settings.executorRuns,
        3,
      );
    });
  }
  if (only.has("g")) {
    await guard("g", async () => {
      step(
        `(g) streaming: ${settings.deltas}-delta reply, Claude Code alone vs through the platform; ${settings.steadyTasks} steady streams`,
      );
      results.stream = await measureStream(platform.origin, await newUser(platform.origin), fake, {
        deltas: settings.deltas,
        aloneRuns: settings.aloneRuns,
        steadyTasks: settings.steadyTasks,
        steadySeconds: settings.steadySeconds,
        modes: values["stream-modes"]
          .split(",")
          .filter((m): m is "unbatched" | "batched" => m === "unbatched" || m === "batched"),
      });
    });
  }
  if (only.has("h")) {
    await guard("h", async () => {
      step(`(h) idle device cost: a real executor idle for ${settings.idleSeconds} s`);
      results.idle =
        (await measureIdle(
          platform.origin,
          await newUser(platform.origin),
          settings.idleSeconds,
        )) ?? undefined;
    });
  }
  if (only.has("i")) {
    await guard("i", async () => {
      step(`(i) workspace archive and restore of ${settings.archiveMiB} MiB vs plain tar`);
      results.archive = await measureArchive(
        platform.origin,
        await newUser(platform.origin),
        fake.url,
        settings.archiveMiB,
      );
    });
  }
  if (only.has("d")) {
    await guard("d", async () => {
      step("(d) presence: clean close, then a frozen executor (default grace 15 s)");
      results.presence = await measurePresence(
        platform.origin,
        await newUser(platform.origin),
        fake,
      );
    });
  }
  if (only.has("j")) {
    await guard("j", async () => {
      step(
        `(j) one user's live channel: ${settings.liveDevices} devices × ${settings.liveTasks} tasks at ${settings.liveRate} deltas/s`,
      );
      results.streams = await measureStreams(platform.origin, await newUser(platform.origin), {
        devices: settings.liveDevices,
        perDevice: settings.liveTasks,
        rate: settings.liveRate,
        seconds: settings.liveSeconds,
      });
    });
  }
  if (only.has("e")) {
    await guard("e", async () => {
      step(`(e) scale: ${settings.devices} devices, then a reconnect storm`);
      results.scale = await measureScale(
        platform,
        await newUser(platform.origin),
        settings.devices,
        settings.loadDispatches,
        settings.queuedDevices,
        values["fleet-auth"] === "token" ? "token" : "credential",
      );
    });
  }
} finally {
  await fake.close();
  await platform.stop();
}
if (only.has("w")) {
  // Its own platform with tracing on, after the other one stopped (their figures stay untraced).
  await guard("w", async () => {
    step(`(w) where a message's time goes: ${settings.waterfallRuns} traced messages`);
    results.waterfall = await measureWaterfall(settings.waterfallRuns);
    console.log(`\n${waterfallText(results.waterfall)}`);
  });
}
results.seconds = (Date.now() - started) / 1000;
results.errors = errors;
console.log(`\n${table(results)}\n`);
const docPath = join(ROOT, "docs/benchmarks.md");
if (!values["no-docs"] && only.size === 1 && results.waterfall) {
  const when = `${machineLine(results.machine)} · load average ${loadavg()[0]!.toFixed(1)}.`;
  const section = waterfallDoc(results.waterfall, when);
  writeFileSync(docPath, withWaterfall(readFileSync(docPath, "utf8"), section));
  console.log("wrote the waterfall section of docs/benchmarks.md");
} else if (!values["no-docs"]) {
  writeFileSync(docPath, benchmarksDoc(results));
  console.log("wrote docs/benchmarks.md");
}
console.log(`bench done in ${results.seconds.toFixed(0)} s`);
process.exit(0);
