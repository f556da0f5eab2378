// The story in a real browser, one session, no reload after sign-up: sign up, make a
// token in the UI, start a real executor with it, watch the device come online live, stream a
// reply from it, then kill it and watch the device go offline and the running task fail.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  horizontalOverflow,
  launchChromium,
  recordLatestReply,
  replySamples,
  screenshot,
  UI_POLL,
  UI_WAIT_MS,
  BOOT_WAIT_MS,
  UI_TEST_MS,
} from "./browser";
import { type FakeModel, startFakeModel, text } from "./fake-model/server";
import { api, type ExecutorProcess, type Platform, startExecutor, startPlatform } from "./harness";

// Sized for a loaded CI machine (e2e/browser.ts).
vi.setConfig({ testTimeout: UI_TEST_MS });

const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 375, height: 800 };
const STREAMED = ["Streaming ", "works: ", "one, ", "two, ", "three, ", "four, ", "done."];
const FULL_REPLY = STREAMED.join("").trim();

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let platform: Platform | undefined;
let fake: FakeModel | undefined;
let executor: ExecutorProcess | undefined;
let token = "";
let deviceName = "";
let documentLoads = 0;
const cspViolations: string[] = [];
const pageErrors: string[] = [];

const byTestId = (id: string) => page.getByTestId(id);
const deviceCard = () => page.locator(`li[data-testid="device-${executor?.deviceId ?? ""}"]`);
const latestReply = () => byTestId("assistant-message").last();

/** Hash routes change the view without loading the document again. */
async function go(hash: string) {
  await page.evaluate((to) => {
    window.location.hash = to;
  }, hash);
}

/**
 * Screenshots at 1280 and 375 px; at 375 the page must not scroll sideways, and `onPhone` runs
 * checks while the phone layout is up. The phone shot is the screen scrolled to the bottom,
 * where the newest message is.
 */
async function screenshotsAtBothWidths(name: string, onPhone?: () => Promise<void>) {
  await page.setViewportSize(WIDE);
  await screenshot(page, `${name}-1280`);
  await page.setViewportSize(NARROW);
  // Let the layout settle at the new width before measuring it.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
  expect(await horizontalOverflow(page), `${name} at 375 px scrolls sideways`).toEqual({
    overflow: 0,
    widest: null,
  });
  await onPhone?.();
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await screenshot(page, `${name}-375`, "viewport");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.setViewportSize(WIDE);
}

beforeAll(async () => {
  browser = await launchChromium();
  [platform, fake] = await Promise.all([
    startPlatform({ vars: { DEVICE_GRACE_SECONDS: "3" } }),
    startFakeModel(),
  ]);
  context = await browser.newContext({ viewport: WIDE });
  context.setDefaultTimeout(UI_WAIT_MS);
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  // The Content-Security-Policy must not block anything the SPA does.
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on("domcontentloaded", () => (documentLoads += 1));
  await page.goto(platform.origin, { timeout: UI_WAIT_MS });
}, BOOT_WAIT_MS);

// A failure leaves what the user saw: a screenshot and the replies' states and texts.
afterEach(async (context) => {
  if (context.task.result?.state !== "fail" || !page) return;
  const name = context.task.name.replace(/\W+/g, "-").slice(0, 60);
  await screenshot(page, `failed-${name}`).catch(() => undefined);
  const seen = await page
    .evaluate(() =>
      Array.from(document.querySelectorAll("[data-testid]"))
        .filter((e) => /message|error|status|connection/.test(e.getAttribute("data-testid") ?? ""))
        .map(
          (e) =>
            `${e.getAttribute("data-testid")} ${e.getAttribute("data-status") ?? ""}: ${(e.textContent ?? "").slice(0, 200)}`,
        )
        .join("\n"),
    )
    .catch((error: unknown) => String(error));
  console.error(
    `--- page at failure:\n${seen}\n--- executor:\n${executor?.output().slice(-3000) ?? ""}`,
  );
});

afterAll(async () => {
  await executor?.stop("SIGKILL");
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await fake?.close();
  await platform?.stop();
}, BOOT_WAIT_MS);

describe("the web UI, in a real browser, with a real executor", () => {
  it("signs up", async () => {
    await byTestId("auth-tab-signup").click();
    await byTestId("auth-username").fill("browser_user");
    await byTestId("auth-password").fill("browser password 1");
    await byTestId("auth-submit").click();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await expect(byTestId("auth-error").count()).resolves.toBe(0);
    await expect(byTestId("current-user").textContent()).resolves.toBe("browser_user");
    expect(documentLoads).toBe(1);
  });

  it("creates a token in Settings → API Token and shows it once", async () => {
    await go("#/settings/tokens");
    await byTestId("token-name").fill("browser e2e laptop");
    await byTestId("token-create").click();
    token = ((await byTestId("token-value").textContent()) ?? "").trim();
    expect(token.length).toBeGreaterThan(20);
    await byTestId("token-done").click();
    await expect(byTestId("token-value").count()).resolves.toBe(0);
    await expect(byTestId("token-list").textContent()).resolves.toContain("browser e2e laptop");
  });

  it("shows the device online, without a reload, once its executor starts", async () => {
    await go("#/devices");
    await byTestId("no-devices").waitFor();
    executor = startExecutor({ origin: platform!.origin, token, modelUrl: fake!.url });
    await executor.waitFor("registered", 30_000);
    await deviceCard().and(page.locator('[data-status="online"]')).waitFor({ timeout: UI_WAIT_MS });
    await expect(deviceCard().getByTestId("device-status").textContent()).resolves.toContain(
      "online",
    );
    // The executor's token never reaches the page again after "Done".
    await expect(page.content()).resolves.not.toContain(token);
    deviceName = ((await deviceCard().getByTestId("device-name").textContent()) ?? "").trim();
    expect(deviceName).not.toBe("");
    await screenshotsAtBothWidths("devices-online");

    await go("#/");
    const option = byTestId(`target-option-${executor.deviceId}`);
    await expect(option.textContent()).resolves.toContain("online");
    await expect(option.isDisabled()).resolves.toBe(false);
    expect(documentLoads).toBe(1);
  });

  it("streams the reply from the chosen device as it is written", async () => {
    fake!.on("count to four", [{ blocks: [text(...STREAMED)], delayMs: 150 }]);
    await byTestId("device-selector").selectOption(`device:${executor!.deviceId}`);
    await expect(byTestId("device-selector").inputValue()).resolves.toBe(
      `device:${executor!.deviceId}`,
    );
    await recordLatestReply(page);
    await byTestId("composer").fill("Please count to four");
    await byTestId("send-button").click();
    await page.waitForURL(/#\/tasks\/[\w-]+$/);
    await latestReply().and(page.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    const final = await latestReply().getByTestId("assistant-content").textContent();
    expect(final?.trim()).toBe(FULL_REPLY);

    // Streaming was visible: partial text grew, over time, while the reply was still running.
    const samples = await replySamples(page);
    const partial = samples.filter((s) => s.status === "running" && s.text.length > 0);
    const lengths = [...new Set(partial.map((s) => s.text.length))];
    expect(lengths.length, JSON.stringify(samples)).toBeGreaterThanOrEqual(3);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    for (const s of partial) expect(FULL_REPLY.startsWith(s.text)).toBe(true);
    const spread = partial.at(-1)!.at - partial[0]!.at;
    expect(spread).toBeGreaterThan(300);
    // The final text arrives only after the partial ones.
    const done = samples.findIndex((s) => s.status === "completed");
    expect(done).toBeGreaterThan(samples.indexOf(partial.at(-1)!));

    await expect(latestReply().textContent()).resolves.toContain(`on ${deviceName}`);
    await screenshotsAtBothWidths("chat-streamed", async () => {
      // Scrolled to the end, the phone's composer sits on the bottom edge, no gap beneath it.
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const gap = await page.evaluate(
        () =>
          window.innerHeight - document.querySelector(".composer")!.getBoundingClientRect().bottom,
      );
      expect(gap).toBeLessThanOrEqual(1);
    });
    expect(documentLoads).toBe(1);
  });

  it("shows the device offline and the running task failed when the executor dies", async () => {
    fake!.on("a very slow job", [
      { blocks: [text("Working", ...Array.from({ length: 300 }, () => "."))], delayMs: 100 },
    ]);
    await byTestId("composer").fill("Now a very slow job");
    await byTestId("send-button").click();
    // The follow-up was accepted (its reply exists), and while it works the user can stop it.
    await byTestId("assistant-message").nth(1).waitFor({ timeout: UI_WAIT_MS });
    await byTestId("stop-button").waitFor({ timeout: UI_WAIT_MS });
    await latestReply()
      .and(page.locator('[data-status="running"]'))
      .getByTestId("assistant-content")
      .waitFor({ timeout: 60_000 });

    await executor!.stop("SIGKILL");
    const option = byTestId(`target-option-${executor!.deviceId}`);
    await expect.poll(() => option.textContent(), UI_POLL).toMatch(/reconnecting|offline/);
    // After the 3 s grace the task fails with the device's name in the message.
    await latestReply()
      .and(page.locator('[data-status="failed"]'))
      .waitFor({ timeout: UI_WAIT_MS });
    const error = await latestReply().getByTestId("message-error").textContent();
    expect(error).toContain(`Device ${deviceName} disconnected`);
    await expect(byTestId("stop-button").count()).resolves.toBe(0);
    await expect.poll(() => option.textContent(), UI_POLL).toContain("offline");
    await expect(option.isDisabled()).resolves.toBe(true);
    await screenshotsAtBothWidths("chat-device-disconnected", async () => {
      // On a phone the error and its Retry are reachable, not hidden under the sticky composer.
      await latestReply().getByTestId("message-error").scrollIntoViewIfNeeded();
      await byTestId("retry-button").click({ trial: true, timeout: UI_WAIT_MS });
    });

    await go("#/devices");
    await deviceCard()
      .and(page.locator('[data-status="offline"]'))
      .waitFor({ timeout: UI_WAIT_MS });
    await screenshotsAtBothWidths("devices-offline");

    expect(documentLoads).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it("pairs a computer: the printed link pre-fills the code, the owner approves it", async () => {
    const start = await api<{
      pairingId: string;
      code: string;
      pollSecret: string;
      approveUrl: string;
    }>(platform!.origin, "POST", "/api/pairings/start", {
      body: {
        deviceId: "browserpaired01",
        name: "Paired laptop",
        platform: "linux-x64",
        version: "0.1.0",
      },
    });
    expect(start.status).toBe(201);
    await page.goto(start.body.approveUrl);
    await expect(byTestId("pair-code").inputValue()).resolves.toBe(start.body.code);
    expect(new URL(page.url()).search).toBe("");
    // Before the click: which computer asks (issue #26).
    await byTestId("pair-details").waitFor({ timeout: 10_000 });
    await expect(byTestId("pair-device-name").textContent()).resolves.toBe("Paired laptop");
    await expect(byTestId("pair-device-platform").textContent()).resolves.toBe("linux-x64");
    await expect(byTestId("pair-device-version").textContent()).resolves.toBe("0.1.0");
    await expect(byTestId("pair-device-address").textContent()).resolves.toMatch(/\S/);
    await byTestId("pair-approve").click();
    await expect(byTestId("pair-result").textContent()).resolves.toContain("Paired laptop");
    const poll = await api<{ state: string; credential?: string }>(
      platform!.origin,
      "GET",
      `/api/pairings/${start.body.pairingId}`,
      { token: start.body.pollSecret },
    );
    expect(poll.body.state).toBe("approved");
    expect(poll.body.credential).toMatch(/^wdc_/);
    // The Add-a-device panel never shows a token inside a command.
    const commands = await page.locator('[data-testid="add-device"] code').allTextContents();
    expect(commands.join("\n")).not.toContain("--token");
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
