// Tracing's overhead on a whole message: the real stack (wrangler dev, the real executor, real
// Claude Code against the fake model) with no OTEL_* at all vs with an OTLP endpoint (a
// loopback receiver) for the Worker, the hubs and the executor. Blocks alternate off/on/on/off
// so the machine's drift hits both alike; each block's first message is a warm-up, not counted.
// Per message: the POST /api/tasks round trip (client), then the hub's own stages of it
// (GET /api/tasks/:id `stages`: started, first token, done, in ms since the hub got it).
// Run: npx node bench/trace-overhead.mjs [--rounds 2] [--messages 8] [--traced both|worker|executor]
// (wrangler needs Node >= 22.12)
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import type { TaskWithMessages } from "@wegent/protocol";
import { text, toolUse } from "../e2e/fake-model/server";
import { api } from "../e2e/harness";
import { startTracedStack } from "../e2e/traced-stack";
import { machine, machineLine } from "./lib/machine";
import { percentile } from "./lib/stats";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    messages: { type: "string", default: "8" },
    // Which parts "on" traces: both (default), only the Worker and its hubs, only the executor.
    traced: { type: "string", default: "both" },
  },
});
const rounds = Number(values.rounds);
const perBlock = Number(values.messages);
const traced = values.traced as "both" | "worker" | "executor";
if (!["both", "worker", "executor"].includes(traced)) throw new Error(`--traced ${traced}?`);

interface Sample {
  postMs: number;
  startedMs: number;
  firstTokenMs: number;
  doneMs: number;
}

async function pollFor<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const end = Date.now() + 90_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after 90 s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function block(
  mode: "off" | "on",
  index: number,
): Promise<{ samples: Sample[]; load: number[]; spans: number }> {
  const load = [loadavg()[0]!];
  const stack = await startTracedStack({
    username: `overhead_${mode}_${index}`,
    otel: mode === "on" ? {} : null,
    tracedParts: traced,
  });
  const samples: Sample[] = [];
  try {
    stack.fake.on(/overhead run/, [
      {
        blocks: [text("Checking."), toolUse("Bash", { command: "echo ok", description: "check" })],
      },
      { blocks: [text("Checked", " and", " done.")] },
    ]);
    const as = { cookie: stack.user.cookie };
    for (let i = 0; i <= perBlock; i++) {
      const started = performance.now();
      const res = await api<TaskWithMessages>(stack.platform.origin, "POST", "/api/tasks", {
        ...as,
        body: { message: `overhead run ${i}` },
        // What the web app sends on every request, on or off.
        headers: {
          traceparent: `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`,
        },
      });
      const postMs = performance.now() - started;
      if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
      // Polled every 500 ms, not 50: the figures are the hub's own timestamps, and each poll is
      // a request the Worker traces and exports when on, load that would compete with Claude
      // Code on a small machine and count as tracing's overhead.
      const reply = await pollFor(async () => {
        const d = await api<TaskWithMessages>(
          stack.platform.origin,
          "GET",
          `/api/tasks/${res.body.task.id}`,
          as,
        );
        const last = d.body.messages.at(-1);
        return last?.status === "completed" && last.stages ? last : undefined;
      }, `overhead message ${i} to complete`);
      const s = reply.stages!;
      if (i === 0) continue; // warm-up
      samples.push({
        postMs,
        startedMs: s.startedMs ?? Number.NaN,
        firstTokenMs: s.firstTokenMs ?? Number.NaN,
        doneMs: s.doneMs,
      });
    }
    // Let the executor's batch processor send its last spans (counted, not timed).
    await new Promise((r) => setTimeout(r, 2000));
    load.push(loadavg()[0]!);
    if (mode === "on") {
      // Each span name's median duration: where a traced message spends its time.
      const byName = new Map<string, number[]>();
      for (const span of stack.receiver.spans()) {
        const key = `${span.service} · ${span.name}`;
        byName.set(key, [...(byName.get(key) ?? []), span.endMs - span.startMs]);
      }
      for (const [name, ms] of [...byName].sort()) {
        console.log(`    ${name}: ${ms.length} spans, median ${percentile(ms, 50).toFixed(1)} ms`);
      }
    }
    return { samples, load, spans: stack.receiver.spans().length };
  } finally {
    await stack.stop();
  }
}

const order: ("off" | "on")[] = [];
for (let r = 0; r < rounds; r++)
  order.push(...(r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)));
const all: Record<"off" | "on", Sample[]> = { off: [], on: [] };
const loads: number[] = [];
const lines: string[] = [];
for (const [index, mode] of order.entries()) {
  console.log(`… block ${index + 1}/${order.length}: tracing ${mode}`);
  const b = await block(mode, index);
  all[mode].push(...b.samples);
  loads.push(...b.load);
  const med = (k: keyof Sample) =>
    percentile(
      b.samples.map((x) => x[k]),
      50,
    ).toFixed(0);
  lines.push(
    `| ${index + 1} | ${mode} | ${b.samples.length} | ${med("postMs")} | ${med("startedMs")} | ${med("firstTokenMs")} | ${med("doneMs")} | ${b.load.map((l) => l.toFixed(1)).join(" → ")} | ${mode === "on" ? b.spans : "0"} |`,
  );
}
const median = (mode: "off" | "on", k: keyof Sample) =>
  percentile(all[mode].map((x) => x[k]).filter(Number.isFinite), 50);
const row = (label: string, k: keyof Sample) => {
  const off = median("off", k);
  const on = median("on", k);
  return `| ${label} | ${off.toFixed(0)} ms | ${on.toFixed(0)} ms | ${(((on - off) / off) * 100).toFixed(1)} % |`;
};
console.log(
  `\n${machineLine(machine())} · load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the run.\n`,
);
console.log(
  `| message, medians of ${all.off.length} off / ${all.on.length} on | off | on | on vs off |`,
);
console.log("| --- | --- | --- | --- |");
console.log(row("POST /api/tasks round trip (client)", "postMs"));
console.log(row("hub got it → device took it (started)", "startedMs"));
console.log(row("hub got it → first text stored (first token)", "firstTokenMs"));
console.log(row("hub got it → final write (done)", "doneMs"));
console.log(
  "\n| block | tracing | messages | POST | started | first token | done | load (1 min) | spans received |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const line of lines) console.log(line);
