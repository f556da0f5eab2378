// A message typed while Codex works goes in with `turn/steer`. When Codex refuses the steer
// (its turn just ended, or the process went), the message must not be answered "queued" (it
// would stay marked waiting until the reply ends): it is `not_running`, so the Worker sends it
// as an ordinary follow-up. The real binary cannot be made to refuse on cue, so a small
// app-server stand-in (JSON-RPC over stdio, as `codex app-server`) refuses every steer.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressEvent } from "@wegent/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { createCodexRuntime } from "../src/runtime/codex/runtime";
import { request, taskDirs } from "./runtime-helpers";

const dir = mkdtempSync(join(tmpdir(), "wegent-codex-steer-"));
const FAKE = join(dir, "codex");
writeFileSync(
  FAKE,
  `#!/usr/bin/env node
const rl = require("node:readline").createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...m }) + "\\n");
const refuse = process.env.STEER === "refuse";
rl.on("line", (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  switch (m.method) {
    case "initialize": return send({ id: m.id, result: {} });
    case "thread/start": return send({ id: m.id, result: { thread: { id: "thread-1" } } });
    case "turn/start":
      send({ id: m.id, result: { turn: { id: "turn-1" } } });
      return send({ method: "item/agentMessage/delta", params: { itemId: "m1", delta: "Working" } });
    case "turn/steer":
      return refuse
        ? send({ id: m.id, error: { code: -32600, message: "no active turn to steer" } })
        : send({ id: m.id, result: { turnId: "turn-1" } });
    case "turn/interrupt":
      send({ id: m.id, result: {} });
      return send({ method: "turn/completed", params: { turn: { id: "turn-1", status: "interrupted" } } });
    default: return send({ id: m.id, error: { code: -32601, message: "unknown " + m.method } });
  }
});
`,
);
chmodSync(FAKE, 0o755);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function steer(mode: "refuse" | "take") {
  const d = taskDirs();
  const events: ProgressEvent[] = [];
  const runtime = createCodexRuntime({
    executable: FAKE,
    userEnv: { PATH: process.env.PATH, HOME: d.homeDir, CODEX_HOME: d.homeDir },
    extraEnv: { STEER: mode },
  });
  const controller = new AbortController();
  const req = { ...request(d, "work on it"), permissionMode: "bypassPermissions" as const };
  const run = runtime.run(req, (e) => events.push(e), controller.signal);
  const deadline = Date.now() + 20_000;
  while (!events.some((e) => e.kind === "text") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const state = await runtime.queueMessage?.({
    taskId: req.taskId,
    messageId: req.messageId,
    userMessageId: "user-msg-1",
    text: "also this",
    interrupt: false,
  });
  controller.abort("cancelled");
  const outcome = await run;
  d.remove();
  return { state, events, outcome };
}

describe("Codex turn/steer", () => {
  it("a steer Codex refuses is not answered queued, and not shown as taken", async () => {
    const { state, events, outcome } = await steer("refuse");
    expect(state).toBe("not_running");
    expect(events.some((e) => e.kind === "user_message")).toBe(false);
    expect(outcome).toMatchObject({ ok: false, code: "cancelled" });
  }, 30_000);

  it("a steer Codex takes is queued and shown as taken in the reply", async () => {
    const { state, events } = await steer("take");
    expect(state).toBe("queued");
    expect(events).toContainEqual({
      kind: "user_message",
      userMessageId: "user-msg-1",
      text: "also this",
    });
  }, 30_000);
});
