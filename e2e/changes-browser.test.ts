// The Changes tab and the Skills page in a real Chromium, with a real executor and real Claude
// Code writing files against the fake model.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { TaskWithMessages } from "@wegent/protocol";
import {
  horizontalOverflow,
  launchChromium,
  screenshot,
  UI_WAIT_MS,
  BOOT_WAIT_MS,
  UI_TEST_MS,
} from "./browser";
import { type FakeModel, startFakeModel, text, toolUse } from "./fake-model/server";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  type Session,
  signUp,
  startExecutor,
  startPlatform,
} from "./harness";

// Sized for a loaded CI machine (e2e/browser.ts).
vi.setConfig({ testTimeout: UI_TEST_MS });

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let platform: Platform | undefined;
let fake: FakeModel | undefined;
let ex: ExecutorProcess | undefined;
let user: Session;
let home: string;
let taskId = "";
const deviceId = `e2echg${process.pid}x${Date.now().toString(16)}`;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  [platform, fake] = await Promise.all([startPlatform(), startFakeModel()]);
  user = await signUp(platform.origin, "changes_user");
  const { token } = await createToken(platform.origin, user);
  home = mkdtempSync(join(tmpdir(), "wegent-chg-"));
  writeFileSync(join(home, "device_id"), `${deviceId}\n`);
  // A skill in Claude Code's folder, for the Skills page (HOME is the executor's home here).
  mkdirSync(join(home, ".claude", "skills", "review"), { recursive: true });
  writeFileSync(
    join(home, ".claude", "skills", "review", "SKILL.md"),
    "---\nname: review\ndescription: Reviews a change\n---\n",
  );
  ex = startExecutor({
    origin: platform.origin,
    token,
    modelUrl: fake.url,
    deviceId,
    env: { WEGENT_EXECUTOR_HOME: home, HOME: home },
  });
  await ex.waitFor("registered");
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(UI_WAIT_MS);
  const [name, value] = user.cookie.split("=");
  await context.addCookies([{ name: name ?? "", value: value ?? "", url: platform.origin }]);
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, BOOT_WAIT_MS);

afterEach(async (test) => {
  if (test.task.result?.state !== "fail" || !page) return;
  await screenshot(page, `failed-changes-${test.task.name.replace(/\W+/g, "-").slice(0, 40)}`);
  console.error(`--- executor:\n${ex?.output().slice(-3000) ?? ""}`);
});

afterAll(async () => {
  await ex?.stop("SIGKILL");
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await fake?.close();
  await platform?.stop();
}, BOOT_WAIT_MS);

const files = () => page.getByTestId("change-file");

/**
 * A Bash call of the agent that waits (at most 180 s) until the test opens the gate: the agent
 * moves on when the UI showed what the test waits for, not after a guessed sleep that a
 * loaded machine can outrun.
 */
const gate = (name: string) => {
  const path = join(home, "gates", name);
  mkdirSync(join(home, "gates"), { recursive: true });
  const command = `for i in $(seq 900); do [ -e ${path} ] && exit 0; sleep 0.2; done; exit 1`;
  return {
    call: toolUse("Bash", { command, description: `wait for ${name}` }),
    open: () => writeFileSync(path, ""),
  };
};

describe("the Changes tab in Chromium", () => {
  it("refreshes as the agent's Write calls finish, highlighted, and fits 375 px", async () => {
    const prompt = "Write the app and the notes please";
    fake!.on(prompt, [{ blocks: [toolUse("Bash", { command: "sleep 4", description: "think" })] }]);
    const created = await api<TaskWithMessages>(platform!.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: prompt },
    });
    taskId = created.body.task.id;
    const dir = join(home, "workspaces", taskId);
    const seenEmpty = gate("seen-empty");
    const seenRunning = gate("seen-running");
    fake!.reset();
    fake!.on(prompt, [
      { blocks: [seenEmpty.call] },
      {
        blocks: [
          toolUse("Write", {
            file_path: join(dir, "app.py"),
            content: "def hello():\n    return 'hi'\n",
          }),
        ],
      },
      { blocks: [toolUse("Write", { file_path: join(dir, "notes.md"), content: "# Notes\n" })] },
      // The task keeps running a while: the tab must refresh on the edits, not on the end.
      { blocks: [seenRunning.call] },
      { blocks: [text("Done.")] },
    ]);
    await page.goto(`${platform!.origin}/#/tasks/${taskId}`);
    await page.getByTestId("tab-changes").click();
    await page.getByText("No changes in the workspace yet.").waitFor();
    seenEmpty.open();
    await files().nth(1).waitFor({ timeout: UI_WAIT_MS });
    const status = await api<TaskWithMessages>(platform!.origin, "GET", `/api/tasks/${taskId}`, {
      cookie: user.cookie,
    });
    expect(status.body.task.status).toBe("running");
    seenRunning.open();
    await expect(files().evaluateAll((els) => els.map((e) => e.dataset.path))).resolves.toEqual([
      "app.py",
      "notes.md",
    ]);
    await expect(page.getByTestId("changes-summary").textContent()).resolves.toContain(
      "2 files changed +3",
    );
    const app = files().first();
    await expect(app.locator(".hl-keyword").first().textContent()).resolves.toBe("def");
    await expect(app.locator(".diff-add").count()).resolves.toBe(2);
    await screenshot(page, "changes-1280");
    await page.setViewportSize({ width: 375, height: 800 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    expect(await horizontalOverflow(page)).toEqual({ overflow: 0, widest: null });
    await screenshot(page, "changes-375");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("reverts a file after a confirmation", async () => {
    const notes = files().nth(1);
    await notes.getByRole("button", { name: "Revert file" }).click();
    await notes.getByText("Revert notes.md to its base version?").waitFor();
    await notes.getByRole("button", { name: "Revert", exact: true }).click();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="change-file"]').length === 1,
    );
    await expect(files().first().getAttribute("data-path")).resolves.toBe("app.py");
  });

  it("lists the audit on the device page and unifies a skill on the Skills page", async () => {
    await page.goto(`${platform!.origin}/#/devices`);
    await page.getByTestId("device-audit").click();
    await page.getByTestId("audit-entry").first().waitFor();
    const keys = await page
      .getByTestId("audit-entry")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")));
    expect(keys).toContain("workspace.revert");
    expect(keys).toContain("workspace.diff");

    await page.getByTestId("device-skills").click();
    const skill = page.locator('[data-testid="skill"][data-name="review"]');
    await skill.waitFor();
    await expect(skill.textContent()).resolves.toContain("Reviews a change");
    await skill.getByRole("button", { name: "Unify" }).click();
    await page.getByText("review is now shared from ~/.agents/skills.").waitFor();
    await skill.getByText("shared", { exact: true }).waitFor();
    await expect(skill.textContent()).resolves.toMatch(/✓.*link.*link/);
    await page.setViewportSize({ width: 375, height: 800 });
    await screenshot(page, "skills-375");
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(pageErrors).toEqual([]);
  });
});
