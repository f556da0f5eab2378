// (g) Streaming with the real parts: Claude Code alone vs Claude Code → wegent-executor →
// platform → a browser's live socket, for one long reply and for several steady streams; each
// with output batching off (`WEGENT_OUTPUT_BATCH_MAX=1`, one event per frame) and on.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LiveFrame } from "@wegent/protocol";
import { createClaudeRuntime } from "../../executor/src/runtime/claude/runtime";
import { type FakeModel, text } from "../../e2e/fake-model/server";
import { api, startExecutor } from "../../e2e/harness";
import { openTimedLive } from "../lib/live";
import { type Meters, readMeters, subtractMeters } from "../lib/meters";
import type { BenchUser } from "../lib/platform";
import { sleep, type Summary, summarize } from "../lib/stats";

export interface LongRun {
  /** Milliseconds from POST /api/tasks to the browser holding every delta and the end (p50). */
  ms: number;
  /** Each run's milliseconds (as many runs as Claude Code alone had, after one warm-up task). */
  runs: number[];
  events: number;
  lossless: boolean;
  /** WebSocket messages the browser received for the reply. */
  liveFrames: number;
  /** Platform work for the reply (null when the platform does not expose meters). */
  meters: Meters | null;
}

export interface SteadyRun {
  tasks: number;
  /** Deltas per second per task the model produced (measured). */
  rate: number;
  /** Per task: the browser's last delta after the model's last one, ms. */
  lagMs: number[];
  lossless: boolean;
  meters: Meters | null;
}

export interface ModeResult {
  mode: "unbatched" | "batched";
  long: LongRun;
  steady: SteadyRun;
}

export interface StreamResult {
  deltas: number;
  /** Claude Code alone: run start to its result, same reply, same fake model. */
  alone: Summary;
  aloneEvents: number;
  /** The steady streams through Claude Code alone: its own end lag per task, ms. */
  aloneSteadyLagMs: number[];
  modes: ModeResult[];
}

const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i} `);

function aloneRuntime(fake: FakeModel) {
  return createClaudeRuntime({
    baseEnv: {
      PATH: process.env.PATH,
      ANTHROPIC_BASE_URL: fake.url,
      ANTHROPIC_API_KEY: "sk-bench-fake",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "0",
      IS_SANDBOX: "1",
    },
  });
}

/** One run of Claude Code alone; resolves with the time of its last event. */
async function runAlone(fake: FakeModel, prompt: string, onEvent: () => void) {
  const dir = mkdtempSync(join(tmpdir(), "wegent-bench-alone-"));
  try {
    const outcome = await aloneRuntime(fake).run(
      {
        taskId: "alone",
        messageId: prompt,
        prompt,
        resumeSessionId: null,
        workspaceDir: dir,
        homeDir: dir,
        tmpDir: dir,
      },
      onEvent,
      new AbortController().signal,
    );
    if (!outcome.ok) throw new Error(`Claude Code alone failed: ${outcome.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The steady case without the platform: the same streams through Claude Code alone at once;
 * lag = its last event − the model's last byte (what Claude Code itself adds on this machine).
 */
async function steadyAlone(fake: FakeModel, tasks: number, n: number, perDelta: number) {
  const tag = `steady alone ${Date.now()}`;
  const prompts = Array.from({ length: tasks }, (_, i) => `${tag} #${i}`);
  for (const p of prompts) fake.on(p, [{ blocks: [text(...words(n, "s"))], paceMs: perDelta }]);
  const last = prompts.map(() => 0);
  await Promise.all(prompts.map((p, i) => runAlone(fake, p, () => (last[i] = performance.now()))));
  return prompts.map((p, i) => {
    const answered = fake.requests.find((r) => r.answeredBy === `${p}#0`);
    return last[i]! - (answered?.endedAt ?? NaN);
  });
}

/** Claude Code alone through the executor's own runtime code, without executor or platform. */
async function claudeAlone(fake: FakeModel, deltas: number, runs: number) {
  const times: number[] = [];
  let events = 0;
  for (let r = 0; r < runs; r++) {
    const prompt = `alone ${r} ${Date.now()}`;
    fake.on(prompt, [{ blocks: [text(...words(deltas, "a"))] }]);
    let count = 0;
    const t0 = performance.now();
    await runAlone(fake, prompt, () => (count += 1));
    times.push(performance.now() - t0);
    events = count;
  }
  return { ms: summarize(times), events };
}

type Got = { seqs: number[]; lastAt: number; doneAt: number; content: string | null };

/** Listens on the live socket for the output of the given messages. */
function collect(frame: LiveFrame, at: number, got: Map<string, Got>): void {
  if (!("messageId" in frame)) return;
  const entry = got.get(frame.messageId);
  if (!entry) return;
  if (frame.type === "message:delta") {
    entry.seqs.push(frame.seq);
    entry.lastAt = at;
  } else if (frame.type === "message:deltas") {
    for (const e of frame.events) entry.seqs.push(e.seq);
    entry.lastAt = at;
  } else if (frame.type === "message:done") {
    entry.doneAt = at;
    entry.content = frame.content;
  }
}

const inOrderOnce = (seqs: number[], n: number) =>
  seqs.length === n && seqs.every((v, i) => v === i + 1);

async function post(origin: string, user: BenchUser, deviceId: string, message: string) {
  const res = await api<{ messages: { id: string; role: string }[] }>(
    origin,
    "POST",
    "/api/tasks",
    { cookie: user.session.cookie, body: { message, target: { deviceId } } },
  );
  if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
  return res.body.messages.find((m) => m.role === "assistant")!.id;
}

async function until(check: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

export async function measureStream(
  origin: string,
  user: BenchUser,
  fake: FakeModel,
  options: {
    deltas: number;
    aloneRuns: number;
    steadyTasks: number;
    steadySeconds: number;
    modes: ("unbatched" | "batched")[];
  },
): Promise<StreamResult> {
  const alone = await claudeAlone(fake, options.deltas, options.aloneRuns);
  const perDelta = 5; // ms between streamed events, paced: 200 deltas/s
  const steadyN = Math.round((options.steadySeconds * 1000) / perDelta);
  const aloneSteadyLagMs = await steadyAlone(fake, options.steadyTasks, steadyN, perDelta);
  const modes: ModeResult[] = [];
  for (const mode of options.modes) {
    const ex = startExecutor({
      origin,
      token: user.token,
      modelUrl: fake.url,
      env: mode === "unbatched" ? { WEGENT_OUTPUT_BATCH_MAX: "1" } : {},
    });
    const live = await openTimedLive(origin, user.session.cookie);
    try {
      await ex.waitFor(/\bregistered\b/, 30_000);
      const got = new Map<string, Got>();
      live.onFrame = (f, at) => void collect(f, at, got);

      // A warm-up task first (the executor's first task pays for loading what tasks need, as
      // Claude Code alone's first run does), then the long reply as many times as Claude Code
      // alone ran it, as fast as the model streams it.
      const warm = `warm ${mode} ${Date.now()}`;
      fake.on(warm, [{ blocks: [text(...words(10, "h"))] }]);
      const warmEntry: Got = { seqs: [], lastAt: 0, doneAt: 0, content: null };
      got.set(await post(origin, user, ex.deviceId, warm), warmEntry);
      await until(() => warmEntry.doneAt > 0, 60_000, `the ${mode} warm-up task`);
      const runs: number[] = [];
      let long: LongRun | null = null as LongRun | null;
      for (let r = 0; r < options.aloneRuns; r++) {
        const prompt = `long ${mode} ${r} ${Date.now()}`;
        const reply = words(options.deltas, "w");
        fake.on(prompt, [{ blocks: [text(...reply)] }]);
        const before = await readMeters(origin, user, ex.deviceId);
        const messagesBefore = live.messages;
        const t0 = performance.now();
        const messageId = await post(origin, user, ex.deviceId, prompt);
        const entry: Got = { seqs: [], lastAt: 0, doneAt: 0, content: null };
        got.set(messageId, entry);
        await until(() => entry.doneAt > 0, 180_000, `the ${mode} long reply`);
        runs.push(Math.max(entry.doneAt, entry.lastAt) - t0);
        await sleep(300); // duplicates, if any, would arrive here
        const after = await readMeters(origin, user, ex.deviceId);
        const lossless = inOrderOnce(entry.seqs, alone.events) && entry.content === reply.join("");
        long = {
          ms: summarize(runs).p50,
          runs: [...runs],
          events: entry.seqs.length,
          lossless: lossless && (long?.lossless ?? true),
          // Includes a few status frames (task:status, device:status, message:done).
          liveFrames: live.messages - messagesBefore,
          meters: before && after ? subtractMeters(after, before) : null,
        };
      }
      if (!long) throw new Error("no long reply was measured");

      // Several tasks at once on this device, each streaming at a steady rate.
      const n = steadyN;
      const tag = `steady ${mode} ${Date.now()}`;
      const prompts = Array.from({ length: options.steadyTasks }, (_, i) => `${tag} #${i}`);
      for (const p of prompts) fake.on(p, [{ blocks: [text(...words(n, "s"))], paceMs: perDelta }]);
      const steadyBefore = await readMeters(origin, user, ex.deviceId);
      const ids = await Promise.all(prompts.map((p) => post(origin, user, ex.deviceId, p)));
      const entries = ids.map((id) => {
        const e: Got = { seqs: [], lastAt: 0, doneAt: 0, content: null };
        got.set(id, e);
        return e;
      });
      await until(
        () => entries.every((e) => e.doneAt > 0),
        options.steadySeconds * 1000 + 120_000,
        `${options.steadyTasks} steady streams (${mode})`,
      );
      await sleep(300);
      const steadyAfter = await readMeters(origin, user, ex.deviceId);
      const answered = prompts.map((p) => fake.requests.find((r) => r.answeredBy === `${p}#0`));
      const lagMs = entries.map((e, i) => e.lastAt - (answered[i]?.endedAt ?? NaN));
      const rates = answered.map((r) => n / (((r?.endedAt ?? NaN) - (r?.startedAt ?? NaN)) / 1000));
      const steady: SteadyRun = {
        tasks: options.steadyTasks,
        rate: rates.filter(Number.isFinite).reduce((a, b) => a + b, 0) / options.steadyTasks,
        lagMs,
        lossless: entries.every((e) => inOrderOnce(e.seqs, n)),
        meters: steadyBefore && steadyAfter ? subtractMeters(steadyAfter, steadyBefore) : null,
      };
      live.onFrame = null;
      modes.push({ mode, long, steady });
    } finally {
      live.close();
      await ex.stop("SIGTERM");
    }
  }
  return {
    deltas: options.deltas,
    alone: alone.ms,
    aloneEvents: alone.events,
    aloneSteadyLagMs,
    modes,
  };
}
