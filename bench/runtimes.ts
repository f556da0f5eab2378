// Time to first delta per agent runtime, alone (no platform): from run() to the first text
// delta, Claude Code against the fake Messages API and Codex against the fake Responses API,
// both on loopback, same short reply. `npm run bench:runtimes -- --runs 5`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeModel, text } from "../e2e/fake-model/server";
import { startFakeResponses } from "../e2e/fake-model/responses";
import { createClaudeRuntime } from "../executor/src/runtime/claude/runtime";
import { createCodexRuntime } from "../executor/src/runtime/codex/runtime";
import type { AgentRuntime } from "../executor/src/runtime/types";
import { summarize, type Summary } from "./lib/stats";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Math.max(1, Number(values.runs));

/** Milliseconds from run() to the first text delta, and to the end. */
async function once(
  runtime: AgentRuntime,
  prompt: string,
): Promise<{ first: number; end: number }> {
  const dir = mkdtempSync(join(tmpdir(), "wegent-bench-runtime-"));
  try {
    const t0 = performance.now();
    let first = Number.NaN;
    const outcome = await runtime.run(
      {
        taskId: `bench-${runtime.name}`,
        messageId: `${prompt}-${t0}`,
        prompt,
        resumeSessionId: null,
        workspaceDir: dir,
        homeDir: dir,
        tmpDir: dir,
        permissionMode: "bypassPermissions",
      },
      (event) => {
        if (event.kind === "text" && Number.isNaN(first)) first = performance.now() - t0;
      },
      new AbortController().signal,
    );
    if (!outcome.ok) throw new Error(`${runtime.name}: ${outcome.code} ${outcome.message}`);
    return { first, end: performance.now() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

async function measure(runtime: AgentRuntime, prompt: string) {
  await once(runtime, prompt); // warm-up (file cache)
  const firsts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(runtime, prompt);
    firsts.push(r.first);
    ends.push(r.end);
  }
  await runtime.closeAll?.();
  return { firstDelta: summarize(firsts), end: summarize(ends) };
}

const claudeModel = await startFakeModel();
claudeModel.on("ttfd", [{ blocks: [text("Hello ", "there")] }]);
const responses = await startFakeResponses();
try {
  const claude = createClaudeRuntime({
    baseEnv: {
      PATH: process.env.PATH,
      ANTHROPIC_BASE_URL: claudeModel.url,
      ANTHROPIC_API_KEY: "sk-bench-fake",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_MAX_RETRIES: "0",
      IS_SANDBOX: "1",
    },
    keepWarm: false,
  });
  const codex = createCodexRuntime({
    executable: join(process.cwd(), "node_modules/.bin/codex"),
    provider: { name: "fake", baseUrl: responses.url, model: "fake-model", envKey: "FAKE_KEY" },
    extraEnv: { FAKE_KEY: "bench" },
    userEnv: { PATH: process.env.PATH },
  });
  const results: Record<string, { firstDelta: Summary; end: Summary }> = {
    "claude-code": await measure(claude, "ttfd"),
    codex: await measure(codex, "ttfd"),
  };
  process.stdout.write(`time to first delta, runtime alone (${runs} runs, p50 / max ms)\n`);
  for (const [name, r] of Object.entries(results)) {
    process.stdout.write(
      `  ${name.padEnd(12)} first delta ${r.firstDelta.p50.toFixed(0)} / ${r.firstDelta.max.toFixed(0)}   reply done ${r.end.p50.toFixed(0)} / ${r.end.max.toFixed(0)}\n`,
    );
  }
} finally {
  await claudeModel.close();
  await responses.close();
}
