import type { MessageTrace, SpanFactory, StepSpan } from "./types";

// One message's spans, over any span factory (the OTel SDK in sdk.ts, a recorder in tests).
// Agent start, first token and tool calls are read from the progress events the agent already
// produces, so the runtime needs no hooks of its own.

export function messageTrace(
  factory: SpanFactory,
  frame: { taskId: string; messageId: string; traceparent?: string | undefined },
  now: () => number = Date.now,
): MessageTrace {
  const ids = { "wegent.task_id": frame.taskId, "wegent.message_id": frame.messageId };
  const root = factory.start("executor message", frame.traceparent, ids);
  const parent = root.traceparent;
  let agentAt: number | null = null;
  let sawEvent = false;
  let sawToken = false;
  let toolCalls = 0;
  const tools = new Map<string, { name: string; at: number }>();

  const span = (
    name: string,
    attributes: Record<string, unknown>,
    startMs: number,
    endMs = now(),
  ) => factory.start(name, parent, { ...ids, ...attributes }, startMs).end({}, endMs, false);

  return {
    traceparent: parent,
    step(name, attributes = {}): StepSpan {
      const s = factory.start(name, parent, { ...ids, ...attributes });
      return { end: (more = {}, error = false) => s.end(more, now(), error) };
    },
    agentStarting() {
      agentAt = now();
    },
    event(event) {
      const at = now();
      if (agentAt !== null && !sawEvent) {
        sawEvent = true;
        span("executor agent start", { "wegent.duration_ms": at - agentAt }, agentAt, at);
      }
      if (agentAt !== null && !sawToken && (event.kind === "text" || event.kind === "thinking")) {
        sawToken = true;
        span("executor first token", { "wegent.duration_ms": at - agentAt }, agentAt, at);
      }
      if (event.kind === "tool_use" && event.toolUseId) {
        tools.set(event.toolUseId, { name: event.name ?? "unknown", at });
      }
      if (event.kind === "tool_result" && event.toolUseId) {
        const call = tools.get(event.toolUseId);
        if (!call) return;
        tools.delete(event.toolUseId);
        toolCalls += 1;
        const duration = event.durationMs ?? at - call.at;
        span(
          "executor tool call",
          { "wegent.tool_name": call.name, "wegent.duration_ms": duration },
          call.at,
          call.at + duration,
        );
      }
    },
    end(status, code = null) {
      root.end(
        {
          "wegent.status": status,
          "wegent.tool_calls": toolCalls,
          ...(code ? { "wegent.failure_code": code } : {}),
        },
        now(),
        status === "failed",
      );
    },
  };
}
