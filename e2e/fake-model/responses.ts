// A fake OpenAI Responses API (`POST /v1/responses`, streamed SSE) on loopback, for the real
// Codex binary (`codex app-server`). It answers from the conversation it is sent:
//   - the last input item is a tool's output → "Tool said: <output>" (the turn ends);
//   - the user's last message has "run: <command>" → an `exec_command` call of that command;
//   - "tool: <namespace>.<name> {json}" → a call of that tool (MCP tools come in a namespace,
//     `mcp__<server>`) with those arguments;
//   - "patch: <file>: <line>" → an `exec_command` call of `apply_patch` adding <file> with <line>;
//   - "ask: <question>" → a `request_user_input` call of that question (options Red, Blue);
//   - "propose: <step>" → a reply with a `<proposed_plan>` block of that step (Plan mode);
//   - "hang" → one delta, then nothing until the request goes away (cancel tests);
//   - "recall" → every earlier user message of the conversation, joined by " | ";
//   - else → "Echo: <message>" in three deltas.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

const InputItem = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: z.unknown().optional(),
  output: z.unknown().optional(),
});
const ResponsesBody = z.looseObject({ model: z.string(), input: z.array(InputItem) });
type InputItem = z.infer<typeof InputItem>;

export interface FakeResponses {
  /** Base URL for `[model_providers.<name>] base_url` (ends in /v1). */
  url: string;
  /** Every request body received, in order. */
  requests: z.infer<typeof ResponsesBody>[];
  close(): Promise<void>;
}

function textOf(item: InputItem): string {
  if (typeof item.content === "string") return item.content;
  if (!Array.isArray(item.content)) return "";
  return item.content
    .map((part: unknown) =>
      typeof part === "object" && part !== null && "text" in part ? String(part.text) : "",
    )
    .join("");
}

/** The user's own messages (Codex adds environment context as user messages too). */
function userMessages(input: InputItem[]): string[] {
  return input
    .filter((i) => i.type === "message" && i.role === "user")
    .map(textOf)
    .filter((t) => !t.trimStart().startsWith("<"));
}

type Reply =
  | { kind: "text"; deltas: string[] }
  | { kind: "call"; cmd: string }
  | { kind: "tool"; namespace?: string; name: string; args: string }
  | { kind: "hang" };

function decide(input: InputItem[]): Reply {
  const last = input[input.length - 1];
  if (last?.type === "function_call_output" || last?.type === "custom_tool_call_output") {
    const output = typeof last.output === "string" ? last.output : JSON.stringify(last.output);
    return { kind: "text", deltas: ["Tool said: ", output.slice(0, 2000)] };
  }
  const users = userMessages(input);
  const message = users[users.length - 1] ?? "";
  const run = /run: (.+)/.exec(message);
  if (run?.[1]) return { kind: "call", cmd: run[1].trim() };
  const ask = /ask: (.+)/.exec(message);
  if (ask?.[1]) {
    const options = [
      { label: "Red", description: "warm" },
      { label: "Blue", description: "cool" },
    ];
    const question = { id: "colour", header: "Colour", question: ask[1].trim(), options };
    return {
      kind: "tool",
      name: "request_user_input",
      args: JSON.stringify({ questions: [question] }),
    };
  }
  const propose = /propose: (.+)/.exec(message);
  if (propose?.[1]) {
    const plan = `<proposed_plan>\n# Plan\n\n1. ${propose[1].trim()}\n</proposed_plan>`;
    return { kind: "text", deltas: ["Here is my plan.\n\n", plan] };
  }
  const tool = /tool: ([\w-]+)\.([\w-]+) (\{.*\})/.exec(message);
  if (tool?.[1] && tool[2] && tool[3]) {
    return { kind: "tool", namespace: tool[1], name: tool[2], args: tool[3] };
  }
  const patch = /patch: ([\w./-]+): (.+)/.exec(message);
  if (patch?.[1] && patch[2]) {
    const body = `*** Begin Patch\n*** Add File: ${patch[1]}\n+${patch[2]}\n*** End Patch`;
    return { kind: "call", cmd: `apply_patch <<'EOF'\n${body}\nEOF\n` };
  }
  if (/\bhang\b/.test(message)) return { kind: "hang" };
  if (/\brecall\b/.test(message)) {
    return { kind: "text", deltas: ["Earlier: ", users.slice(0, -1).join(" | ")] };
  }
  return { kind: "text", deltas: ["Echo: ", message.slice(0, 40), message.slice(40)] };
}

function sse(res: ServerResponse, type: string, data: Record<string, unknown>): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

let sequence = 0;

function answer(res: ServerResponse, reply: Reply): void {
  sequence += 1;
  const id = `resp_${sequence}`;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  sse(res, "response.created", { response: { id } });
  if (reply.kind === "call" || reply.kind === "tool") {
    const item = {
      type: "function_call",
      id: `fc_${sequence}`,
      call_id: `call_${sequence}`,
      ...(reply.kind === "call"
        ? { name: "exec_command", arguments: JSON.stringify({ cmd: reply.cmd }) }
        : {
            name: reply.name,
            ...(reply.namespace ? { namespace: reply.namespace } : {}),
            arguments: reply.args,
          }),
    };
    sse(res, "response.output_item.added", { output_index: 0, item });
    sse(res, "response.output_item.done", { output_index: 0, item });
  } else {
    const itemId = `msg_${sequence}`;
    const deltas = reply.kind === "hang" ? ["Working"] : reply.deltas.filter((d) => d !== "");
    sse(res, "response.output_item.added", {
      output_index: 0,
      item: { type: "message", id: itemId, role: "assistant", content: [] },
    });
    for (const delta of deltas) {
      sse(res, "response.output_text.delta", {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta,
      });
    }
    if (reply.kind === "hang") return; // held open until the client goes
    sse(res, "response.output_item.done", {
      output_index: 0,
      item: {
        type: "message",
        id: itemId,
        role: "assistant",
        content: [{ type: "output_text", text: deltas.join("") }],
      },
    });
  }
  sse(res, "response.completed", {
    response: {
      id,
      usage: {
        input_tokens: 100,
        input_tokens_details: { cached_tokens: 20 },
        output_tokens: 7,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 107,
      },
    },
  });
  res.end();
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
}

export async function startFakeResponses(): Promise<FakeResponses> {
  const requests: FakeResponses["requests"] = [];
  const server = createServer((req, res) => {
    if (req.method !== "POST" || !req.url?.endsWith("/responses")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "not found" } }));
      return;
    }
    readJson(req)
      .then((json) => {
        const body = ResponsesBody.parse(json);
        requests.push(body);
        answer(res, decide(body.input));
      })
      .catch((error: unknown) => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: String(error) } }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
