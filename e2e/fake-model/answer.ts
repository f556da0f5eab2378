// How the fake model answers a scripted turn: the streamed events of one message (SSE), or the
// whole message at once, with token counts estimated from the sizes.
import { randomUUID } from "node:crypto";
import type { FakeBlock, FakeTurn } from "./script.ts";

export function estimateTokens(body: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(body ?? "").length / 4));
}

/** The events of one streamed message, in order, as [event name, data]. */
export function streamEvents(
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
export function wholeMessage(
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
