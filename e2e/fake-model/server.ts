// A fake Anthropic Messages API, just enough of it for Claude Code to run offline against it.
// Tests script what "the model" answers; the fake records every request it got so a test can
// check what Claude Code sent (e.g. that a follow-up carried the earlier conversation).
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { estimateTokens, streamEvents, wholeMessage } from "./answer.ts";
import type { RecordedRequest } from "./recorded.ts";
import { describeRequest } from "./recorded.ts";
import { lastToolResult, MessagesBody, promptAndStep, readBody } from "./request-body.ts";
import {
  DEFAULT_TURN,
  type FakeModel,
  type FakeRule,
  type FakeTurn,
  PLAN_FILE,
  TOOL_RESULT,
} from "./script.ts";

// The parts, by concern: script.ts (what a test scripts), recorded.ts (what the fake records),
// request-body.ts (reading Claude Code's request), answer.ts (the streamed or whole answer).
// Tests import them all from here.
export type { FakeBlock, FakeModel, FakeRule, FakeTurn, FakeUsage } from "./script.ts";
export { PLAN_FILE, text, thinking, TOOL_RESULT, toolUse } from "./script.ts";
export type { RecordedRequest } from "./recorded.ts";
export { describeRequest, requestText, systemText, toolNames } from "./recorded.ts";
export { promptAndStep } from "./request-body.ts";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the fake on 127.0.0.1 (port 0 = any free port). */
export async function startFakeModel(options: { port?: number; log?: boolean } = {}) {
  const rules: FakeRule[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : null;
    } catch {
      body = null;
    }
    if (req.method === "GET" && url.pathname === "/_fake/requests") {
      // For a fake run standalone: what each request contained (prompt, tools, system prompt).
      sendJson(res, 200, { requests: requests.map(describeRequest) });
      return;
    }
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      body,
      prompt: null,
      answeredBy: "none",
      authorization: req.headers.authorization ?? null,
      apiKey: typeof req.headers["x-api-key"] === "string" ? req.headers["x-api-key"] : null,
      startedAt: performance.now(),
    };
    requests.push(record);
    if (options.log) console.error(`[fake-model] ${record.method} ${req.url ?? ""}`);

    if (req.method === "POST" && url.pathname === "/v1/messages/count_tokens") {
      sendJson(res, 200, { input_tokens: estimateTokens(body) });
      return;
    }
    if (req.method !== "POST" || url.pathname !== "/v1/messages") {
      sendJson(res, 404, {
        type: "error",
        error: { type: "not_found_error", message: `fake model: no ${url.pathname}` },
      });
      return;
    }
    const parsed = MessagesBody.safeParse(body);
    if (!parsed.success) {
      sendJson(res, 400, {
        type: "error",
        error: { type: "invalid_request_error", message: "fake model: malformed messages body" },
      });
      return;
    }
    const found = promptAndStep(parsed.data.messages);
    record.prompt = found?.prompt ?? null;
    let turn: FakeTurn = DEFAULT_TURN;
    record.answeredBy = "default";
    if (found) {
      const rule = rules.find((r) =>
        typeof r.match === "string" ? found.prompt.includes(r.match) : r.match.test(found.prompt),
      );
      const scripted = rule?.turns[Math.min(found.step, rule.turns.length - 1)];
      if (rule && scripted) {
        turn = scripted;
        record.answeredBy = `${String(rule.match)}#${Math.min(found.step, rule.turns.length - 1)}`;
      }
    }
    if ("error" in turn) {
      sendJson(res, turn.error.status, {
        type: "error",
        error: { type: turn.error.type, message: turn.error.message },
      });
      return;
    }
    if (JSON.stringify(turn).includes(TOOL_RESULT)) {
      const result = lastToolResult(parsed.data.messages);
      turn = JSON.parse(
        JSON.stringify(turn).replaceAll(TOOL_RESULT, JSON.stringify(result).slice(1, -1)),
      ) as typeof turn;
    }
    if (JSON.stringify(turn).includes(PLAN_FILE)) {
      const named = /[^"\s\\]*\/\.claude\/plans\/[^"\s\\]*\.md/.exec(raw)?.[0] ?? "";
      turn = JSON.parse(JSON.stringify(turn).replaceAll(PLAN_FILE, named)) as typeof turn;
    }

    const model = parsed.data.model ?? "claude-fake";
    const inputTokens = estimateTokens(parsed.data.messages);
    if (parsed.data.stream !== true) {
      sendJson(res, 200, wholeMessage(turn, model, inputTokens));
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "request-id": `req_${randomUUID()}`,
    });
    const paceStart = performance.now();
    let n = 0;
    let sent = 0;
    for (const [event, data] of streamEvents(turn, model, inputTokens)) {
      if (turn.silentAfter !== undefined && sent++ >= turn.silentAfter) {
        await new Promise<void>((resolve) => res.once("close", () => resolve()));
        return;
      }
      if (turn.delayMs) await sleep(turn.delayMs);
      if (turn.paceMs) {
        const due = paceStart + n * turn.paceMs - performance.now();
        if (due > 0) await sleep(due);
        n += 1;
      }
      if (res.destroyed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    }
    res.end();
    record.endedAt = performance.now();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendJson(res, 500, {
          type: "error",
          error: { type: "api_error", message: `fake model: ${String(error)}` },
        });
      } else {
        res.destroy();
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const fake: FakeModel = {
    url: `http://127.0.0.1:${port}`,
    requests,
    on(match, turns) {
      if (turns.length === 0) throw new Error("a rule needs at least one turn");
      rules.push({ match, turns });
    },
    reset() {
      rules.length = 0;
      requests.length = 0;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

// Standalone: `node e2e/fake-model/server.ts [--port N] [--rules rules.json]` prints
// {"url": "..."} on stdout, then serves until killed. Rules file: [{ "match": "...", "turns": [...] }].
const RulesFile = z.array(
  z.object({
    match: z.string(),
    turns: z.array(z.custom<FakeTurn>((v) => typeof v === "object" && v !== null)).min(1),
  }),
);

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const fake = await startFakeModel({
    port: Number(arg("--port") ?? 0),
    log: argv.includes("--log"),
  });
  const rulesPath = arg("--rules");
  if (rulesPath) {
    const { readFile } = await import("node:fs/promises");
    const rules = RulesFile.parse(JSON.parse(await readFile(rulesPath, "utf8")));
    for (const rule of rules) fake.on(rule.match, rule.turns);
  }
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
