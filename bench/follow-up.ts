// First text of a reply, side by side on this machine against the same fake model:
//   claude -p     — Claude Code's own CLI, from its start to its first text on stdout;
//   new task      — POST /api/tasks → the first text delta on a browser's live socket;
//   follow-up     — POST /api/tasks/:id/messages after a reply, into the task's warm session
//                   (no Claude Code start) → the first text delta on the live socket.
// Targets (issue 22): follow-up ≤ 0.8× claude -p; new task ≤ 1.3×.
// Run: node bench/follow-up.mjs [--runs 7]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LiveFrame } from "@wegent/protocol";
import { findClaudeExecutable } from "../executor/src/runtime/claude/preflight";
import { startFakeModel, text, type FakeModel } from "../e2e/fake-model/server";
import { api, startExecutor, startPlatform } from "../e2e/harness";
import { openTimedLive } from "./lib/live";
import { newUser } from "./lib/platform";
import { summarize } from "./lib/stats";

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Number(values.runs);
const REPLY = ["Hello", " from", " the", " fake", " model."];

function modelEnv(fake: FakeModel, home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    ANTHROPIC_BASE_URL: fake.url,
    ANTHROPIC_API_KEY: "sk-bench-fake",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    CLAUDE_CODE_MAX_RETRIES: "0",
    IS_SANDBOX: "1",
  };
}

/** `claude -p`: from spawn to the first text delta it prints. */
async function claudePrint(fake: FakeModel, prompt: string): Promise<number> {
  const claude = findClaudeExecutable();
  if (!claude) throw new Error("Claude Code's binary was not found");
  const dir = mkdtempSync(join(tmpdir(), "wegent-bench-print-"));
  const t0 = performance.now();
  const child = spawn(
    claude,
    [
      "-p",
      prompt,
      "--output-format",
      "stream-json",
      "--include-partial-messages",
      "--verbose",
      "--permission-mode",
      "bypassPermissions",
    ],
    { cwd: dir, env: modelEnv(fake, dir), stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let buffered = "";
  let firstAt: number | null = null;
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    if (firstAt === null && buffered.includes('"text_delta"')) firstAt = performance.now() - t0;
  });
  // It ends by itself after its reply; its folder goes once it has.
  await exited;
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  if (firstAt === null) throw new Error(`claude -p printed no text: ${buffered.slice(-500)}`);
  return firstAt;
}

const platform = await startPlatform();
const fake = await startFakeModel();
try {
  const user = await newUser(platform.origin, "followup");
  const executor = startExecutor({
    origin: platform.origin,
    token: user.token,
    modelUrl: fake.url,
  });
  await executor.waitFor(/\bregistered\b/, 30_000);
  const live = await openTimedLive(platform.origin, user.session.cookie);
  const firstText = new Map<string, number>();
  const done = new Set<string>();
  live.onFrame = (frame: LiveFrame, at: number) => {
    if (frame.type === "message:delta" && frame.event.kind === "text") {
      if (!firstText.has(frame.messageId)) firstText.set(frame.messageId, at);
    } else if (frame.type === "message:done") done.add(frame.messageId);
  };
  const wait = async (check: () => boolean, what: string) => {
    const end = Date.now() + 60_000;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const cookie = user.session.cookie;
  type Body = { task: { id: string }; messages: { id: string; role: string }[] };
  const replyId = (b: Body) => b.messages.find((m) => m.role === "assistant")!.id;

  const print: number[] = [];
  const created: number[] = [];
  const followUps: number[] = [];
  // One warm-up of each first: the first start of anything pays for loading it.
  for (let r = -1; r < runs; r++) {
    const tag = `${r} ${Date.now()}`;
    fake.on(`print ${tag}`, [{ blocks: [text(...REPLY)] }]);
    fake.on(`task ${tag}`, [{ blocks: [text(...REPLY)] }]);
    fake.on(`again ${tag}`, [{ blocks: [text(...REPLY)] }]);
    const p = await claudePrint(fake, `print ${tag}`);

    let t0 = performance.now();
    const res = await api<Body>(platform.origin, "POST", "/api/tasks", {
      cookie,
      body: { message: `task ${tag}` },
    });
    if (res.status !== 201) throw new Error(`POST /api/tasks answered ${res.status}`);
    const first = replyId(res.body);
    await wait(() => firstText.has(first), "the new task's first text");
    const c = firstText.get(first)! - t0;
    await wait(() => done.has(first), "the new task's end");

    t0 = performance.now();
    const again = await api<Body>(
      platform.origin,
      "POST",
      `/api/tasks/${res.body.task.id}/messages`,
      { cookie, body: { message: `again ${tag}` } },
    );
    if (again.status !== 201) throw new Error(`follow-up answered ${again.status}`);
    const second = replyId(again.body);
    await wait(() => firstText.has(second), "the follow-up's first text");
    const f = firstText.get(second)! - t0;
    await wait(() => done.has(second), "the follow-up's end");
    if (r >= 0) {
      print.push(p);
      created.push(c);
      followUps.push(f);
    }
    console.log(
      `${r < 0 ? "warm-up" : `run ${r + 1}`}: claude -p ${p.toFixed(0)} ms, new task ${c.toFixed(0)} ms, follow-up ${f.toFixed(0)} ms`,
    );
  }
  const p50 = (xs: number[]) => summarize(xs).p50;
  const base = p50(print);
  console.log(
    JSON.stringify(
      {
        runs,
        claudePrintMs: summarize(print),
        newTaskMs: summarize(created),
        followUpMs: summarize(followUps),
        newTaskRatio: +(p50(created) / base).toFixed(2),
        followUpRatio: +(p50(followUps) / base).toFixed(2),
        targets: { followUp: 0.8, newTask: 1.3 },
      },
      null,
      2,
    ),
  );
  live.close();
  await executor.stop("SIGTERM");
} finally {
  await fake.close();
  await platform.stop();
}
