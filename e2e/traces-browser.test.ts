// One message sent from a signed-in Chromium page through the real UI makes one trace rooted in
// the browser: the `traceparent` the page's fetch made is the parent of the Worker's request
// span, and the Worker, the DeviceHub and the executor (agent start, first token, a tool call)
// continue that trace id. Spans go to a loopback OTLP/HTTP receiver (e2e/traced-stack.ts).
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseTraceparent } from "@wegent/protocol";
import { BOOT_WAIT_MS, launchChromium, UI_TEST_MS, UI_WAIT_MS } from "./browser";
import { text, toolUse } from "./fake-model/server";
import { spansOfTrace, startTracedStack, type TracedStack } from "./traced-stack";
import { privacyViolations } from "../edge/telemetry/otlp-walk";

vi.setConfig({ testTimeout: UI_TEST_MS });

const OTLP_KEY = "otlp-key-of-the-browser-run";
const PROMPT = "Please run the browser traced check";
const COMMAND = "echo browser-traced-output";
const REPLY = "The browser traced check is done.";

let stack: TracedStack | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startTracedStack({
      username: "browser_traced",
      otel: { OTEL_EXPORTER_OTLP_HEADERS: `x-otlp-key=${OTLP_KEY}` },
    }),
    launchChromium(),
  ]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(UI_WAIT_MS);
  const [name, value] = stack.user.cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: stack.platform.origin }]);
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(stack.platform.origin, { timeout: UI_WAIT_MS });
}, BOOT_WAIT_MS);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await stack?.stop();
}, BOOT_WAIT_MS);

describe("a message sent from the browser", () => {
  it("is one trace whose root is the page's traceparent, through the Worker, the DeviceHub and the executor", async () => {
    const { receiver, fake, token } = stack!;
    fake.on("browser traced check", [
      {
        blocks: [text("Checking."), toolUse("Bash", { command: COMMAND, description: "check" })],
      },
      { blocks: [text(REPLY)] },
    ]);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await page.getByTestId("composer").fill(PROMPT);
    const sent = page.waitForRequest(
      (r) => r.method() === "POST" && new URL(r.url()).pathname === "/api/tasks",
    );
    await page.getByTestId("send-button").click();
    const header = (await sent).headers().traceparent;
    // The page made it: W3C format, random ids, flagged sampled.
    expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const root = parseTraceparent(header)!;

    await page.waitForURL(/#\/tasks\//);
    const reply = page.getByTestId("assistant-message").last();
    await reply.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 90_000 });
    await expect(reply.getByTestId("assistant-content").textContent()).resolves.toContain(REPLY);

    const spans = await spansOfTrace(receiver, root.traceId, [
      "DeviceHub submit",
      "DeviceHub dispatch",
      "DeviceHub completion",
      "executor message",
      "executor agent start",
      "executor first token",
      "executor tool call",
    ]);
    const one = (name: string) => spans.find((s) => s.name === name)!;
    // The browser's span id is the parent of the Worker's request span for POST /api/tasks.
    const request = spans.find(
      (s) => s.service === "wegent-edge" && s.attributes["http.route"] === "/api/tasks",
    );
    expect(request, "the Worker's span of POST /api/tasks in the browser's trace").toBeTruthy();
    expect(request!.parentSpanId).toBe(root.spanId);
    expect(request!.attributes["http.request.method"]).toBe("POST");
    expect(request!.attributes["http.response.status_code"]).toBe(201);
    // The browser is the only root: every other span's parent is a span of this trace.
    const ids = new Set(spans.map((s) => s.spanId));
    const orphans = spans.filter((s) => s !== request && !ids.has(s.parentSpanId ?? ""));
    expect(orphans.map((s) => `${s.service} ${s.name}`)).toEqual([]);
    // Worker → DeviceHub (RPC) → executor (socket) → DeviceHub (frames back).
    expect(one("DeviceHub submit").parentSpanId).toBe(request!.spanId);
    expect(one("DeviceHub dispatch").parentSpanId).toBe(one("DeviceHub submit").spanId);
    const message = one("executor message");
    expect(message.service).toBe("wegent-executor");
    expect(message.parentSpanId).toBe(one("DeviceHub dispatch").spanId);
    for (const name of ["executor agent start", "executor first token", "executor tool call"]) {
      expect(one(name).parentSpanId).toBe(message.spanId);
    }
    expect(one("executor tool call").attributes["wegent.tool_name"]).toBe("Bash");
    expect(one("DeviceHub completion").parentSpanId).toBe(message.spanId);
    const services = new Set(spans.map((s) => s.service));
    expect([...services].sort()).toEqual(["wegent-edge", "wegent-executor"]);

    // The page's other requests are traces of their own (a new trace id each), never this one.
    expect(
      spans.filter((s) => s.service === "wegent-edge" && s.attributes["http.route"]),
    ).toHaveLength(1);
    // Nothing private in any span the receiver got.
    expect(
      privacyViolations(receiver.spans(), [
        PROMPT,
        "browser traced check",
        COMMAND,
        "browser-traced-output",
        REPLY,
        OTLP_KEY,
        token,
      ]),
    ).toEqual([]);
    // The control for e2e/traces-off.test.ts: with an endpoint, the probe sees the executor
    // load the OpenTelemetry SDK.
    expect(stack!.executorOtelModules()).toContain("@opentelemetry/sdk-trace-base");
    expect(pageErrors).toEqual([]);
  });
});
