// With no OTEL_* anywhere, tracing is off and free: the full stack (wrangler dev, the real
// executor, real Claude Code against the fake model) runs a message with a tool call, sent with
// the traceparent the web app puts on every request, and a receiver listening on the OTLP/HTTP
// default address (127.0.0.1:4318, and [::1]:4318 where there is IPv6) gets nothing: no
// component falls back to a default endpoint. The executor never loads the OpenTelemetry SDK
// (a resolve hook records every @opentelemetry/* module it imports; e2e/traces-browser.test.ts
// is the control that sees them when an endpoint is set).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskWithMessages } from "@wegent/protocol";
import { text, toolUse } from "./fake-model/server";
import { api, until } from "./harness";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver";
import { startTracedStack, type TracedStack } from "./traced-stack";

/** The OTLP/HTTP default port: an SDK with no endpoint configured would send here. */
const OTLP_DEFAULT_PORT = 4318;

let stack: TracedStack;
let ipv6: OtlpReceiver | null = null;

beforeAll(async () => {
  stack = await startTracedStack({
    username: "untraced_user",
    otel: null,
    receiverPort: OTLP_DEFAULT_PORT,
  }).catch((error: unknown) => {
    throw new Error(
      `Could not start with a receiver on 127.0.0.1:${OTLP_DEFAULT_PORT} (is another OTLP receiver or collector running here?): ${String(error)}`,
    );
  });
  ipv6 = await startOtlpReceiver(OTLP_DEFAULT_PORT, "::1").catch(() => null);
}, 180_000);

afterAll(async () => {
  await ipv6?.close();
  await stack?.stop();
});

describe("no OTLP endpoint set", () => {
  it("exports nothing, fails nothing, and the executor never loads the OpenTelemetry SDK", async () => {
    const { receiver, platform, fake, user, executor } = stack;
    fake.on("untraced listing", [
      { blocks: [text("Listing."), toolUse("Bash", { command: "ls", description: "list" })] },
      { blocks: [text("Listed the folder, untraced.")] },
    ]);
    // What the web app sends on every request, tracing on or off.
    const res = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Please do the untraced listing" },
      headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    expect(res.status).toBe(201);
    const done = await until(
      async () => {
        const d = (
          await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${res.body.task.id}`, {
            cookie: user.cookie,
          })
        ).body;
        const last = d.messages.at(-1);
        return last &&
          last.role === "assistant" &&
          last.status !== "running" &&
          last.status !== "queued"
          ? last
          : undefined;
      },
      90_000,
      "the message to end",
    );
    expect(done.status).toBe("completed");
    expect(done.content).toContain("Listed the folder, untraced.");
    // The executor's batch processor would send within ~1 s, the hub at the end of its turn:
    // give both several times that.
    await new Promise((r) => setTimeout(r, 5000));
    expect(receiver.exports.map((e) => e.path)).toEqual([]);
    expect((ipv6?.exports ?? []).map((e) => e.path)).toEqual([]);
    expect(executor.output()).not.toContain("tracing on");
    expect(stack.executorOtelModules()).toEqual([]);
  });
});
