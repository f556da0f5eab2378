import { describe, expect, it } from "vitest";
import { type HubFrame, formatTraceparent, parseTraceparent } from "@wegent/protocol";
import { Slots } from "../device-hub/slots";
import { Tracer } from "../../edge/telemetry/tracer";
import { privacyViolations, type SeenSpan, spansOf } from "../../edge/telemetry/otlp-walk";
import { otelConfig } from "@wegent/protocol";
import { registeredHub } from "./node-sql";

// The DeviceHub's hand-made spans, on Node with a real SQLite: one trace from the Worker's
// traceparent through submit, queue wait, dispatch (on task:execute), output and completion,
// and nothing of the prompt or the reply in any exported attribute.

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const WORKER_SPAN = "00f067aa0ba902b7";
const PROMPT = "please read secret-plan.txt and print the API key sk-ant-123";
const REPLY = "the key is sk-ant-123";

function setup(env: Record<string, string>) {
  const { store, output } = registeredHub(1, true);
  const sent: HubFrame[] = [];
  const bodies: unknown[] = [];
  const work: Promise<unknown>[] = [];
  const tracer = new Tracer(
    otelConfig(env, "wegent-edge"),
    (p) => work.push(p),
    async (_url, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(null, { status: 200 });
    },
  );
  const slots = new Slots(store, output, {
    executor: () => ({ send: (f) => sent.push(f) }),
    setMessageStatus: () => undefined,
    messageTaken: () => undefined,
    finishMessage: async () => undefined,
    push: () => undefined,
    publishStatus: () => undefined,
    messageEnded: () => undefined,
    tracer,
  });
  const spans = async (): Promise<SeenSpan[]> => {
    await Promise.all(work);
    return bodies.flatMap(spansOf);
  };
  return { slots, sent, bodies, spans, store };
}

const submit = (slots: Slots, n: number, traceparent?: string) =>
  slots.submit({
    taskId: `task-${n}`,
    messageId: `msg-${n}`,
    ownerId: "owner",
    prompt: PROMPT,
    resumeSessionId: null,
    projectId: null,
    permissionMode: "default",
    traceparent,
  });

describe("DeviceHub spans", () => {
  it("continue the Worker's traceparent by hand across submit, queue, dispatch, output and completion", async () => {
    const s = setup({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" });
    const worker = formatTraceparent({ traceId: TRACE, spanId: WORKER_SPAN, sampled: true });
    await submit(s.slots, 1, worker);
    await submit(s.slots, 2, worker); // one slot: this one queues
    const execute = s.sent.find((f) => f.type === "task:execute" && f.messageId === "msg-1");
    expect(execute?.type === "task:execute" && execute.traceparent).toBeTruthy();
    const executeCtx = parseTraceparent(
      execute?.type === "task:execute" ? execute.traceparent : "",
    );
    expect(executeCtx?.traceId).toBe(TRACE);

    // The executor's span that sent the output: the hub's span is its child.
    const executorSpan = formatTraceparent({
      traceId: TRACE,
      spanId: "1111111111111111",
      sampled: true,
    });
    await s.slots.receive({
      type: "task:progress-batch",
      taskId: "task-1",
      messageId: "msg-1",
      traceparent: executorSpan,
      events: [{ seq: 1, event: { kind: "text", offset: 0, delta: REPLY } }],
    });
    await s.slots.receive({
      type: "task:complete",
      taskId: "task-1",
      messageId: "msg-1",
      seq: 2,
      text: REPLY,
      sessionId: "s1",
      usage: null,
      costUsd: null,
      traceparent: executorSpan,
    });
    const spans = await s.spans();
    const byName = (name: string) => spans.filter((x) => x.name === name);
    const [submit1] = byName("DeviceHub submit");
    expect(submit1?.parentSpanId).toBe(WORKER_SPAN);
    expect(spans.every((x) => x.traceId === TRACE && x.service === "wegent-edge")).toBe(true);
    const dispatch = byName("DeviceHub dispatch").find(
      (x) => x.attributes["wegent.message_id"] === "msg-1",
    );
    expect(dispatch?.spanId).toBe(executeCtx?.spanId);
    expect(dispatch?.parentSpanId).toBe(submit1?.spanId);
    expect(byName("DeviceHub queue wait").length).toBe(2); // msg-2 moved up after msg-1 ended
    expect(byName("DeviceHub output batch stored")[0]?.parentSpanId).toBe("1111111111111111");
    expect(byName("DeviceHub output batch stored")[0]?.attributes["wegent.events"]).toBe(1);
    const done = byName("DeviceHub completion")[0];
    expect(done?.parentSpanId).toBe("1111111111111111");
    expect(done?.attributes["wegent.status"]).toBe("completed");
    // msg-2 was dispatched when msg-1 freed its slot, continuing its own submit span.
    expect(s.sent.filter((f) => f.type === "task:execute").length).toBe(2);

    expect(privacyViolations(spans, [PROMPT, REPLY, "sk-ant-123", "secret-plan"])).toEqual([]);
  });

  it("end with a completion span for an ending no frame reported (a deadline, a cancel)", async () => {
    const s = setup({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" });
    await submit(
      s.slots,
      1,
      formatTraceparent({ traceId: TRACE, spanId: WORKER_SPAN, sampled: true }),
    );
    const work = s.store.work("msg-1")!;
    await s.slots.finish(work, { status: "failed", errorCode: "dispatch_timeout" });
    const spans = await s.spans();
    const submitted = spans.find((x) => x.name === "DeviceHub submit")!;
    const done = spans.find((x) => x.name === "DeviceHub completion")!;
    expect(done.parentSpanId).toBe(submitted.spanId);
    expect(done.attributes).toMatchObject({
      "wegent.status": "failed",
      "wegent.failure_code": "dispatch_timeout",
    });
  });

  it("are off and free with no endpoint: no traceparent on frames, nothing exported", async () => {
    const s = setup({});
    await submit(
      s.slots,
      1,
      formatTraceparent({ traceId: TRACE, spanId: WORKER_SPAN, sampled: true }),
    );
    const execute = s.sent.find((f) => f.type === "task:execute");
    expect(execute && "traceparent" in execute).toBe(false);
    expect(await s.spans()).toEqual([]);
    expect(s.bodies).toEqual([]);
  });

  it("follow the caller's sampling decision (an unsampled parent exports nothing)", async () => {
    const s = setup({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" });
    await submit(
      s.slots,
      1,
      formatTraceparent({ traceId: TRACE, spanId: WORKER_SPAN, sampled: false }),
    );
    expect(await s.spans()).toEqual([]);
  });
});
