// Codex in a real browser: a device that runs both Claude Code and Codex (the @openai/codex
// devDependency against the fake Responses API on loopback), the composer's agent picker set
// to Codex, the streamed reply, and an approval card whose Allow runs the command.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevicesBody, TaskWithMessages } from "@wegent/protocol";
import { BOOT_WAIT_MS, launchChromium, screenshot, UI_TEST_MS, UI_WAIT_MS } from "./browser";
import { type FakeResponses, startFakeResponses } from "./fake-model/responses";
import { taskCodexHome } from "../executor/src/runtime/codex/home";
import { startExecutor } from "./harness";
import { scene } from "./scene";

const s = scene("codex_browser");
const CODEX = join(import.meta.dirname, "../node_modules/.bin/codex");
let responses: FakeResponses;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  [browser, responses] = await Promise.all([launchChromium(), startFakeResponses()]);
  const codexHome = await taskCodexHome(mkdtempSync(join(tmpdir(), "wegent-e2e-codex-")), {
    name: "fake",
    baseUrl: responses.url,
    model: "fake-model",
    envKey: "CODEX_FAKE_KEY",
  });
  const ex = startExecutor({
    origin: s.platform.origin,
    token: s.token,
    modelUrl: s.fake.url,
    args: ["--codex", CODEX],
    env: { CODEX_HOME: codexHome, CODEX_FAKE_KEY: "e2e-key" },
  });
  s.executors.push(ex);
  await ex.waitFor("registered", 60_000);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(UI_WAIT_MS);
  const [name, value] = s.user.cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: s.platform.origin }]);
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
}, BOOT_WAIT_MS);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await responses?.close();
}, 60_000);

describe("Codex in the browser", () => {
  it(
    "picks Codex in the composer, streams its reply, and runs a command after Allow",
    async () => {
      await page.goto(s.platform.origin);
      await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
      // The picker shows once the device reports both agents ready.
      const picker = page.getByTestId("runtime-select");
      await picker.waitFor();
      await picker.selectOption("codex");
      await page.getByTestId("permission-mode").selectOption("default");
      await page.getByTestId("composer").fill("Please run: touch from-browser.txt && echo made-it");
      await page.getByTestId("send-button").click();
      await page.waitForURL(/#\/tasks\//);
      await expect(page.getByTestId("task-runtime").textContent()).resolves.toContain("Codex");

      // Codex asks before a command that writes: the same permission card as Claude's.
      const card = page.getByTestId("permission-card");
      await card.waitFor();
      await expect(card.textContent()).resolves.toContain("touch from-browser.txt");
      await screenshot(page, "codex-permission-card");
      await page.getByTestId("allow-once").click();
      await card.waitFor({ state: "detached" });

      // The command ran (the model saw its output) and the streamed reply completed on the page.
      const reply = page.getByTestId("assistant-message").last();
      await reply.and(page.locator('[data-status="completed"]')).waitFor();
      const content = (await reply.getByTestId("assistant-content").textContent()) ?? "";
      expect(content).toContain("Tool said:");
      expect(content).toContain("made-it");
      await screenshot(page, "codex-reply");
      const taskId = /#\/tasks\/([^/?]+)/.exec(page.url())?.[1] ?? "";
      const task = await s.get<TaskWithMessages>(`/api/tasks/${taskId}`);
      expect(task.task.runtime).toBe("codex");
      expect(task.messages[1]?.status).toBe("completed");
      expect(pageErrors).toEqual([]);
    },
    UI_TEST_MS,
  );

  it(
    "with Codex as the default agent: Codex's models in the composer, a Plan-mode question answered on its card",
    async () => {
      const { devices } = await s.get<DevicesBody>("/api/devices");
      const codexModels =
        devices[0]?.runtimes.find((r) => r.id === "codex")?.models.map((m) => m.value) ?? [];
      expect(codexModels.length).toBeGreaterThan(0);

      // Settings → Default agent: Codex.
      await page.goto(`${s.platform.origin}/#/settings`);
      const agent = page.getByTestId("default-runtime");
      await agent.waitFor();
      await agent.selectOption("codex");
      await page.getByText("Saved.").waitFor();

      // A new chat, no agent picked: the model picker lists Codex's models.
      await page.goto(`${s.platform.origin}/#/`);
      await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
      await expect(page.getByTestId("runtime-select").inputValue()).resolves.toBe("");
      const models = page.getByTestId("model-select");
      await models.waitFor();
      await expect
        .poll(() =>
          models.locator("option").evaluateAll((o) => o.map((x) => x.getAttribute("value"))),
        )
        .toEqual(["", ...codexModels]);

      // Plan mode: Codex's request_user_input becomes the question card; the answer reaches it.
      await page.getByTestId("permission-mode").selectOption("plan");
      await page.getByTestId("composer").fill("Please ask: Which colour?");
      await page.getByTestId("send-button").click();
      await page.waitForURL(/#\/tasks\//);
      await expect(page.getByTestId("task-runtime").textContent()).resolves.toContain("Codex");
      const form = page.getByTestId("question-form");
      await form.waitFor();
      await expect(form.textContent()).resolves.toContain("Which colour?");
      await screenshot(page, "codex-question-card");
      await form.getByLabel("Blue").check();
      await form.getByTestId("answer").click();
      await form.waitFor({ state: "detached" });
      const reply = page.getByTestId("assistant-message").last();
      await reply.and(page.locator('[data-status="completed"]')).waitFor();
      const content = (await reply.getByTestId("assistant-content").textContent()) ?? "";
      expect(content).toContain('"colour":{"answers":["Blue"]}');
      expect(pageErrors).toEqual([]);
    },
    UI_TEST_MS,
  );
});
