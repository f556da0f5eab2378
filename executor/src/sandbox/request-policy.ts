// What a cloud agent may ask the model provider to do through the model proxy. The agent holds
// its run's secret (by design), so a prompt-injected agent can write any request body; the
// provider would then reach the network for it (an MCP server at any URL, a web fetch, an image
// or file at a URL, code execution with its own network) or read what the operator's key stores
// (vector stores, files, stored responses and prompts). The sandbox promises no network, so the
// proxy reads each body and refuses these; it forwards the body it read, byte for byte.
//
// Allowed is what the real clients send, measured (executor/test/codex-cloud.test.ts,
// executor/test/request-policy.test.ts):
// - Codex 0.171 (Responses API): tools of type `function` and `namespace` (of functions);
//   `custom` and `local_shell` (client-side tools of other Codex versions) also pass. Codex
//   sends `web_search` with live access by default; the pool's config turns it off
//   (`web_search = "disabled"`, runtime/codex/cloud.ts) and the proxy refuses it.
// - Claude Code (Messages API): client tools only (a name and an input schema, no type),
//   measured over every request of executor/test/runtime-claude.test.ts. Its WebSearch tool
//   asks for the `web_search_*` server tool (not measured here: no test scripts a WebSearch),
//   kept: a search of the provider's index, which opens no URL the agent picks. `custom`
//   passes too. Web fetch, code execution, the MCP connector and containers are refused.

type Json = unknown;

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Tool types a Responses request may carry (a namespace's own tools are checked too). */
const OPENAI_TOOL_TYPES = new Set(["function", "custom", "local_shell", "namespace"]);

/** Top-level keys that read the operator's stored objects or run detached. */
const OPENAI_REFUSED_KEYS = ["previous_response_id", "conversation", "prompt", "background"];

/** Top-level keys that make the provider connect out (MCP connector) or run a container. */
const ANTHROPIC_REFUSED_KEYS = ["mcp_servers", "container"];

/** How deep the body is searched for URLs and file references (real bodies are ~6 deep). */
const MAX_DEPTH = 64;

function openaiTool(tool: Json, depth: number): string | null {
  if (!isObject(tool)) return "a tool that is not an object";
  const type = typeof tool.type === "string" ? tool.type : "(none)";
  if (!OPENAI_TOOL_TYPES.has(type))
    return `the tool type "${type.slice(0, 60)}" (the provider would act for the agent beyond inference)`;
  if (type === "namespace" && tool.tools !== undefined) {
    if (!Array.isArray(tool.tools) || depth > 4) return "a malformed tool namespace";
    for (const inner of tool.tools) {
      const why = openaiTool(inner, depth + 1);
      if (why) return why;
    }
  }
  return null;
}

function anthropicTool(tool: Json): string | null {
  if (!isObject(tool)) return "a tool that is not an object";
  if (tool.type === undefined || tool.type === "custom") return null;
  const type = typeof tool.type === "string" ? tool.type : "(not a string)";
  if (/^web_search_\d+$/.test(type)) return null;
  return `the server tool type "${type.slice(0, 60)}" (the provider would act for the agent beyond inference)`;
}

/**
 * Content the provider would fetch or read for the agent: an image or file at a URL (not a
 * `data:` URL), a stored file or item by id. Searched in the conversation only (`input`,
 * `messages`, `system`), not in what a tool call carries (`tool_use.input` is the model's own
 * data, never fetched), so a tool parameter named like these does not break a conversation.
 */
function reference(value: Json, depth: number): string | null {
  if (depth > MAX_DEPTH) return "a body nested too deep";
  if (Array.isArray(value)) {
    for (const item of value) {
      const why = reference(item, depth + 1);
      if (why) return why;
    }
    return null;
  }
  if (!isObject(value)) return null;
  const toolUse = typeof value.type === "string" && value.type.endsWith("tool_use");
  for (const [key, inner] of Object.entries(value)) {
    if (toolUse && key === "input") continue;
    // Responses: input_image.image_url, input_file.file_url / file_id, item_reference.
    if (key === "image_url") {
      const url = typeof inner === "string" ? inner : isObject(inner) ? inner.url : undefined;
      if (typeof url === "string" && !url.startsWith("data:"))
        return "an image at a URL (send it inline, as a data: URL)";
    }
    if (key === "file_url") return "a file at a URL";
    if (key === "file_id") return "a stored file of the operator";
    if (key === "type" && inner === "item_reference") return "a reference to a stored item";
    // Messages: an image or document source of type "url" or "file".
    if (key === "source" && isObject(inner) && (inner.type === "url" || inner.type === "file"))
      return `a ${String(inner.type)} source (send the content inline, base64 or text)`;
    const why = reference(inner, depth + 1);
    if (why) return why;
  }
  return null;
}

/** Which provider's body rules apply. */
export type RequestPolicy = "openai-responses" | "anthropic-messages";

/**
 * Why the proxy refuses this request body, or null to forward it. `body` is the parsed JSON
 * (anything that is not a JSON object is refused).
 */
export function refusal(policy: RequestPolicy, body: Json): string | null {
  if (!isObject(body)) return "the body is not a JSON object";
  const refusedKeys = policy === "openai-responses" ? OPENAI_REFUSED_KEYS : ANTHROPIC_REFUSED_KEYS;
  for (const key of refusedKeys)
    if (body[key] !== undefined && body[key] !== null) return `the key "${key}"`;
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return "tools that are not a list";
    for (const tool of body.tools) {
      const why = policy === "openai-responses" ? openaiTool(tool, 0) : anthropicTool(tool);
      if (why) return why;
    }
  }
  const conversation = policy === "openai-responses" ? ["input"] : ["messages", "system"];
  for (const key of conversation) {
    const why = reference(body[key], 0);
    if (why) return why;
  }
  return null;
}
