// The permission card in a real browser, in two tabs of one user, with a real executor running
// the real Claude Code: the card shows the command, Allow in one tab closes it in the other, the
// title counts what waits, the Allow is recorded in the reply (live, after a reload, in the
// export), and after a reload the tool call is shown from the stored transcript.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, screenshot, UI_WAIT_MS, BOOT_WAIT_MS, UI_TEST_MS } from "./browser";
import { type FakeModel, startFakeModel, text, toolUse, TOOL_RESULT } from "./fake-model/server";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  signUp,
  startExecutor,
  startPlatform,
} from "./harness";

// Sized for a loaded CI machine (e2e/browser.ts).
vi.setConfig({ testTimeout: UI_TEST_MS });

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let platform: Platform | undefined;
let fake: FakeModel | undefined;
let executor: ExecutorProcess | undefined;
let cookie = "";
let first: Page;
let second: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  [platform, fake] = await Promise.all([startPlatform(), startFakeModel()]);
  const user = await signUp(platform.origin, "two_tabs");
  const { token } = await createToken(platform.origin, user);
  cookie = user.cookie;
  executor = startExecutor({ origin: platform.origin, token, modelUrl: fake.url });
  await executor.waitFor("registered", 30_000);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(UI_WAIT_MS);
  const [name, value] = user.cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: platform.origin }]);
  first = await context.newPage();
  second = await context.newPage();
  for (const page of [first, second]) page.on("pageerror", (e) => pageErrors.push(e.message));
  await first.goto(platform.origin, { timeout: UI_WAIT_MS });
}, BOOT_WAIT_MS);

afterAll(async () => {
  await executor?.stop("SIGKILL");
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await fake?.close();
  await platform?.stop();
}, BOOT_WAIT_MS);

describe("the permission card in two tabs", () => {
  it("asks in both tabs, Allow in one closes it in the other, and the tool call survives a reload", async () => {
    fake!.on("make the report file", [
      {
        blocks: [
          text("I'll write it."),
          toolUse("Bash", { command: "printf report > report.txt", description: "write it" }),
        ],
      },
      { blocks: [text(`Done: ${TOOL_RESULT}`)] },
    ]);
    await first.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await first.getByTestId("permission-mode").selectOption("default");
    await first.getByTestId("composer").fill("Please make the report file");
    await first.getByTestId("send-button").click();
    await first.waitForURL(/#\/tasks\//);
    const url = first.url();
    await second.goto(url);

    for (const page of [first, second]) {
      const card = page.getByTestId("permission-card");
      await card.waitFor();
      await expect(card.getByTestId("permission-command").textContent()).resolves.toBe(
        "printf report > report.txt",
      );
    }
    // Opening a task never asks for notification permission by itself; the title counts.
    await expect(first.title()).resolves.toMatch(/^\(1\) /);
    await screenshot(first, "permission-card");

    await second.getByTestId("allow-once").click();
    await first.getByTestId("permission-card").waitFor({ state: "detached" });
    await second.getByTestId("permission-card").waitFor({ state: "detached" });
    // The answer is recorded in the reply, live in both tabs: what, who and when.
    for (const page of [first, second]) {
      const answered = page.getByTestId("answer-row");
      await answered.waitFor();
      await expect(answered.textContent()).resolves.toMatch(
        /Allowed once · Bash · printf report > report\.txt · by two_tabs/,
      );
    }
    const reply = first.getByTestId("assistant-message").last();
    await reply.and(first.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    await expect(reply.getByTestId("assistant-content").textContent()).resolves.toContain("Done:");
    await expect(first.title()).resolves.not.toMatch(/^\(/);
    const live = await reply.getByTestId("tool-use").allTextContents();

    // After a reload the stored transcript shows the same tool call.
    await second.reload();
    const reloaded = second.getByTestId("assistant-message").last();
    await reloaded.and(second.locator('[data-status="completed"]')).waitFor();
    await expect(reloaded.getByTestId("tool-use").allTextContents()).resolves.toEqual(live);
    expect(live.join(" ")).toContain("Bash");
    // …and the answer, after the call it allowed; the export has it too.
    await expect(reloaded.getByTestId("answer-row").textContent()).resolves.toContain(
      "Allowed once",
    );
    const taskId = url.split("#/tasks/")[1]!.split(/[/?]/)[0]!;
    const md = await api<string>(platform!.origin, "GET", `/api/tasks/${taskId}/export?format=md`, {
      cookie,
    });
    expect(md.body).toMatch(
      /\*\*Allowed once\*\* · Bash `printf report > report\.txt` · by two_tabs/,
    );
    expect(md.body.indexOf("Allowed once")).toBeLessThan(md.body.indexOf("Done:"));
    expect(pageErrors).toEqual([]);
  });

  it("a question is answered in a form; the agent's reply has the answer", async () => {
    fake!.on("pick a colour with me", [
      {
        blocks: [
          toolUse("AskUserQuestion", {
            questions: [
              {
                question: "Which colour should the button be?",
                header: "Colour",
                multiSelect: false,
                options: [
                  { label: "Teal", description: "calm" },
                  { label: "Orange", description: "loud" },
                ],
              },
            ],
          }),
        ],
      },
      { blocks: [text(`Going with: ${TOOL_RESULT}`)] },
    ]);
    await first.goto(`${platform!.origin}/#/`);
    await first.getByTestId("permission-mode").selectOption("default");
    await first.getByTestId("composer").fill("Please pick a colour with me");
    await first.getByTestId("send-button").click();
    const form = first.getByTestId("question-form");
    await form.waitFor();
    await form.getByLabel("Orange").check();
    await screenshot(first, "question-form");
    await form.getByTestId("answer").click();
    await form.waitFor({ state: "detached" });
    const reply = first.getByTestId("assistant-message").last();
    await reply.and(first.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    await expect(reply.getByTestId("assistant-content").textContent()).resolves.toContain("Orange");
  });

  it("a preset card on an empty chat fills the composer", async () => {
    const created = await api(platform!.origin, "POST", "/api/presets", {
      cookie,
      body: { title: "Nightly check", text: "Run the test suite and summarise failures" },
    });
    expect(created.status).toBe(201);
    await first.goto(`${platform!.origin}/#/settings`);
    await first.getByTestId("preset-row").first().waitFor();
    await first.goto(`${platform!.origin}/#/`);
    await first.getByTestId("preset-card").filter({ hasText: "Nightly check" }).click();
    await expect(first.getByTestId("composer").inputValue()).resolves.toBe(
      "Run the test suite and summarise failures",
    );
    expect(pageErrors).toEqual([]);
  });
});
