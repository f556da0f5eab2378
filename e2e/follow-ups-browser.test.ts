// Typing while the agent works, in a real browser with a real executor running the real Claude
// Code: a follow-up typed during a slow reply waits in place (removable), then the running
// session takes it at its next turn boundary and the same reply answers it.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot } from "./browser";
import { type FakeModel, startFakeModel, text } from "./fake-model/server";
import {
  createToken,
  type ExecutorProcess,
  type Platform,
  signUp,
  startExecutor,
  startPlatform,
} from "./harness";

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let platform: Platform | undefined;
let fake: FakeModel | undefined;
let executor: ExecutorProcess | undefined;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  [platform, fake] = await Promise.all([startPlatform(), startFakeModel()]);
  const user = await signUp(platform.origin, "typing_while");
  const { token } = await createToken(platform.origin, user);
  executor = startExecutor({ origin: platform.origin, token, modelUrl: fake.url });
  await executor.waitFor("registered", 30_000);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(20_000);
  const [name, value] = user.cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: platform.origin }]);
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(platform.origin, { timeout: 30_000 });
}, 180_000);

afterAll(async () => {
  await executor?.stop("SIGKILL");
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await fake?.close();
  await platform?.stop();
}, 60_000);

describe("typing while the agent works", () => {
  it("a follow-up typed during a slow reply waits in place, can be removed, and is taken by the same reply", async () => {
    const slow = Array.from({ length: 24 }, (_, i) => `Line ${i + 1}. `);
    fake!.on("write the long report", [{ blocks: [text(...slow)], delayMs: 250 }]);
    fake!.on("also mention the tests", [{ blocks: [text("Tests are mentioned too.")] }]);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await page.getByTestId("composer").fill("Please write the long report");
    await page.getByTestId("send-button").click();
    await page.waitForURL(/#\/tasks\//);
    const reply = page.getByTestId("assistant-message").last();
    await reply.getByText("Line 1.").waitFor({ timeout: 60_000 });

    // Typed while it works: it waits in place.
    await page.getByTestId("composer").fill("Please also mention the tests");
    await page.getByTestId("send-button").click();
    const waiting = page.locator('[data-testid="user-message"][data-status="queued"]');
    await waiting.filter({ hasText: "also mention the tests" }).waitFor();
    // A second one, removed before it is taken.
    await page.getByTestId("composer").fill("Never mind this one");
    await page.getByTestId("send-button").click();
    const removable = waiting.filter({ hasText: "Never mind this one" });
    await removable.waitFor();
    await screenshot(page, "follow-up-queued");
    await removable.getByTestId("remove-queued").click();
    await removable.waitFor({ state: "detached" });

    // Taken at the turn boundary: shown inside the reply, which goes on and answers it.
    await reply
      .getByTestId("taken-message")
      .filter({ hasText: "also mention the tests" })
      .waitFor({ timeout: 60_000 });
    await reply.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    const content = (await reply.getByTestId("assistant-content").textContent()) ?? "";
    expect(content).toContain("Line 24.");
    expect(content).toContain("Tests are mentioned too.");
    await expect(page.getByTestId("assistant-message").count()).resolves.toBe(1);
    await screenshot(page, "follow-up-taken");

    // The model got the follow-up in the same conversation; the removed one never reached it.
    const asked = fake!.requests.find((r) => r.prompt?.includes("also mention the tests"));
    expect(JSON.stringify(asked?.body)).toContain("Line 24.");
    expect(fake!.requests.some((r) => JSON.stringify(r.body).includes("Never mind"))).toBe(false);

    // After a reload the stored reply shows the same.
    await page.reload();
    const stored = page.getByTestId("assistant-message").last();
    await stored
      .getByTestId("taken-message")
      .filter({ hasText: "also mention the tests" })
      .waitFor();
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
