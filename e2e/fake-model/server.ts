// A fake Anthropic Messages API, just enough of it for Claude Code to run offline against it.
// Tests script what "the model" answers; the fake records every request it got so a test can
// check what Claude Code sent (e.g. that a follow-up carried the earlier conversation).
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { z } from "zod";

/** One content block of a scripted model turn. Text and thinking arrive in the given deltas. */
export type FakeBlock =
  | { type: "text"; deltas: string[] }
  | { type: "thinking"; deltas: string[] }
  | { type: "tool_use"; name: string; input: Record<string, unknown>; id?: string };

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** One answer of the model to one request. */
export type FakeTurn =
  | {
      blocks: FakeBlock[];
      /** Pause before each streamed event (slow model, for cancel-mid-stream tests). */
      delayMs?: number;
      /**
       * Stream at a steady rate instead: event n is sent `n × paceMs` after the first, whatever
       * the timers' slack (a model producing 1000 / paceMs events per second).
       */
      paceMs?: number;
      /**
       * A stream that goes silent: after this many events nothing more is sent, and the
       * connection stays open until the client goes away (a hung model, for watchdog tests).
       */
      silentAfter?: number;
      usage?: FakeUsage;
    }
  | { error: { status: number; type: string; message: string } };

export interface FakeRule {
  /** Matched against the text of the latest user prompt (not tool results). */
  match: string | RegExp;
  /** turns[n] answers the n-th request made for that prompt (after n assistant messages). */
  turns: FakeTurn[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Parsed JSON body, or null when there was none / it was not JSON. */
  body: unknown;
  /** Text of the latest user prompt, for /v1/messages requests. */
  prompt: string | null;
  /** Which scripted turn answered it ("default" when no rule matched). */
  answeredBy: string;
  /** The credentials Claude Code sent: `Authorization` (OAuth login) and `x-api-key`. */
  authorization: string | null;
  apiKey: string | null;
  /** `performance.now()` when the request arrived and when its answer was fully written. */
  startedAt?: number;
  endedAt?: number;
}

/** Names of the tools a recorded request offered the model. */
export function toolNames(record: RecordedRequest): string[] {
  const tools = (record.body as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t: unknown) =>
    t && typeof t === "object" && typeof (t as { name?: unknown }).name === "string"
      ? [(t as { name: string }).name]
      : [],
  );
}

/** The system prompt of a recorded request, as one text. */
export function systemText(record: RecordedRequest): string {
  const system = (record.body as { system?: unknown } | null)?.system;
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return "";
  return system
    .map((b: unknown) =>
      b && typeof b === "object" ? String((b as { text?: unknown }).text ?? "") : "",
    )
    .join("\n");
}

/** Everything the request carried (system, messages with their reminders, tools) as text. */
export function requestText(record: RecordedRequest): string {
  return JSON.stringify(record.body ?? null);
}

/** What a test usually wants to know about a request. */
export function describeRequest(record: RecordedRequest) {
  return {
    prompt: record.prompt,
    answeredBy: record.answeredBy,
    tools: toolNames(record),
    system: systemText(record),
  };
}

export interface FakeModel {
  /** Base URL for ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Adds a rule; earlier rules win when several match. */
  on(match: string | RegExp, turns: FakeTurn[]): void;
  /** Forgets all rules and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/** In a scripted text delta, replaced by the text of the latest tool result Claude Code sent. */
export const TOOL_RESULT = "{{tool_result}}";
/** In a scripted turn, replaced by the plan file Claude Code named in plan mode's reminder. */
export const PLAN_FILE = "{{plan_file}}";

/** The text of the last tool_result block of the request (what the tool answered). */
function lastToolResult(messages: MessageParam[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = messages[i]?.content;
    if (!Array.isArray(content)) continue;
    for (let j = content.length - 1; j >= 0; j--) {
      const block = content[j] as { type: string; content?: unknown };
      if (block.type !== "tool_result") continue;
      if (typeof block.content === "string") return block.content;
      if (Array.isArray(block.content)) {
        return block.content
          .map((part: unknown) =>
            typeof part === "object" && part !== null && "text" in part ? String(part.text) : "",
          )
          .join("");
      }
      return "";
    }
  }
  return "";
}

/** Scripting helpers: `text("Hel", "lo")` streams "Hello" in two deltas. */
export const text = (...deltas: string[]): FakeBlock => ({ type: "text", deltas });
export const thinking = (...deltas: string[]): FakeBlock => ({ type: "thinking", deltas });
export const toolUse = (name: string, input: Record<string, unknown>, id?: string): FakeBlock =>
  id === undefined ? { type: "tool_use", name, input } : { type: "tool_use", name, input, id };

const ContentBlock = z.looseObject({ type: z.string(), text: z.string().optional() });
const MessageParam = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(ContentBlock)]),
});
const MessagesBody = z.looseObject({
  model: z.string().optional(),
  stream: z.boolean().optional(),
  messages: z.array(MessageParam),
});
type MessageParam = z.infer<typeof MessageParam>;

const DEFAULT_TURN: FakeTurn = { blocks: [text("OK.")] };
const MAX_BODY_BYTES = 20 * 1024 * 1024;

/**
 * The latest user prompt is the last user message that is not just tool results; the number
 * of assistant messages after it says how far the scripted conversation has got.
 */
export function promptAndStep(messages: MessageParam[]): { prompt: string; step: number } | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!message || message.role !== "user") continue;
    const blocks =
      typeof message.content === "string"
        ? [{ type: "text", text: message.content }]
        : message.content;
    if (blocks.some((b) => b.type === "tool_result")) continue;
    const prompt = blocks
      .filter((b) => b.type === "text" && typeof b.text === "string")
      .map((b) => b.text)
      .join("\n");
    const step = messages.slice(i + 1).filter((m) => m.role === "assistant").length;
    return { prompt, step };
  }
  return null;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function estimateTokens(body: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(body ?? "").length / 4));
}

/** The events of one streamed message, in order, as [event name, data]. */
function streamEvents(
  turn: Extract<FakeTurn, { blocks: FakeBlock[] }>,
  model: string,
  inputTokens: number,
): Array<[string, unknown]> {
  const usage = turn.usage ?? { input_tokens: inputTokens, output_tokens: 0 };
  const events: Array<[string, unknown]> = [
    [
      "message_start",
      {
        type: "message_start",
        message: {
          id: `msg_${randomUUID().replaceAll("-", "")}`,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: usage.input_tokens,
            output_tokens: 1,
            cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
            cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
          },
        },
      },
    ],
  ];
  let outputChars = 0;
  turn.blocks.forEach((block, index) => {
    if (block.type === "text") {
      events.push([
        "content_block_start",
        { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      ]);
      for (const delta of block.deltas) {
        outputChars += delta.length;
        events.push([
          "content_block_delta",
          { type: "content_block_delta", index, delta: { type: "text_delta", text: delta } },
        ]);
      }
    } else if (block.type === "thinking") {
      events.push([
        "content_block_start",
        {
          type: "content_block_start",
          index,
          content_block: { type: "thinking", thinking: "", signature: "" },
        },
      ]);
      for (const delta of block.deltas) {
        outputChars += delta.length;
        events.push([
          "content_block_delta",
          {
            type: "content_block_delta",
            index,
            delta: { type: "thinking_delta", thinking: delta },
          },
        ]);
      }
      events.push([
        "content_block_delta",
        {
          type: "content_block_delta",
          index,
          delta: { type: "signature_delta", signature: "fake-signature" },
        },
      ]);
    } else {
      const json = JSON.stringify(block.input);
      outputChars += json.length;
      events.push([
        "content_block_start",
        {
          type: "content_block_start",
          index,
          content_block: {
            type: "tool_use",
            id: block.id ?? `toolu_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
            name: block.name,
            input: {},
          },
        },
      ]);
      events.push([
        "content_block_delta",
        {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: json },
        },
      ]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
  });
  const usesTool = turn.blocks.some((b) => b.type === "tool_use");
  events.push([
    "message_delta",
    {
      type: "message_delta",
      delta: { stop_reason: usesTool ? "tool_use" : "end_turn", stop_sequence: null },
      usage: {
        output_tokens: turn.usage?.output_tokens ?? Math.max(1, Math.ceil(outputChars / 4)),
      },
    },
  ]);
  events.push(["message_stop", { type: "message_stop" }]);
  return events;
}

/** A non-streamed answer: the same message, assembled. */
function wholeMessage(
  turn: Extract<FakeTurn, { blocks: FakeBlock[] }>,
  model: string,
  inputTokens: number,
): unknown {
  const content = turn.blocks.map((block) => {
    if (block.type === "text") return { type: "text", text: block.deltas.join("") };
    if (block.type === "thinking") {
      return { type: "thinking", thinking: block.deltas.join(""), signature: "fake-signature" };
    }
    return {
      type: "tool_use",
      id: block.id ?? `toolu_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
      name: block.name,
      input: block.input,
    };
  });
  return {
    id: `msg_${randomUUID().replaceAll("-", "")}`,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: turn.blocks.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: turn.usage ?? { input_tokens: inputTokens, output_tokens: 1 },
  };
}

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
