// The workspace UI in a real browser: the task header shows where the workspace lives, Archive
// to cloud (asked first: it uploads) and Download; the device page shows disk used, the cloud
// backup toggle, and Clean up lists (dry run) what it keeps on the device before removing.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TaskWithMessages } from "@wegent/protocol";
import {
  launchChromium,
  screenshot,
  UI_POLL,
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
  signUp,
  startExecutor,
  startPlatform,
  until,
} from "./harness";

// Sized for a loaded CI machine (e2e/browser.ts).
vi.setConfig({ testTimeout: UI_TEST_MS });

let browser: Browser | undefined;
let page: Page;
let platform: Platform | undefined;
let fake: FakeModel | undefined;
let executor: ExecutorProcess | undefined;

beforeAll(async () => {
  browser = await launchChromium();
  [platform, fake] = await Promise.all([startPlatform(), startFakeModel()]);
}, BOOT_WAIT_MS);

afterAll(async () => {
  await executor?.stop("SIGKILL");
  await browser?.close();
  await fake?.close();
  await platform?.stop();
});

describe("workspaces in the browser", () => {
  it(
    "archives, downloads and cleans up from the task and device pages",
    async () => {
      const origin = platform!.origin;
      const user = await signUp(origin, "ws_browser");
      const { token } = await createToken(origin, user);
      executor = startExecutor({ origin, token, modelUrl: fake!.url });
      await executor.waitFor("registered");
      fake!.on("write a file", [
        { blocks: [toolUse("Bash", { command: "printf hi > a.txt", description: "write" })] },
        { blocks: [text("Done.")] },
      ]);
      const created = await api<TaskWithMessages>(origin, "POST", "/api/tasks", {
        cookie: user.cookie,
        body: { message: "Please write a file" },
      });
      const taskId = created.body.task.id;
      await until(
        async () =>
          (
            await api<TaskWithMessages>(origin, "GET", `/api/tasks/${taskId}`, {
              cookie: user.cookie,
            })
          ).body.task.status === "completed",
        60_000,
        "the task to complete",
      );

      const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(UI_WAIT_MS);
      const [name, value] = user.cookie.split("=") as [string, string];
      await context.addCookies([{ name, value, url: origin }]);
      page = await context.newPage();
      await page.goto(`${origin}/#/tasks/${taskId}`, { timeout: UI_WAIT_MS });
      await expect
        .poll(() => page.getByTestId("workspace-state").textContent(), UI_POLL)
        .toContain("Workspace: on");
      // Archiving a local device's task uploads its files: the button asks first and says so.
      await page.getByRole("button", { name: "Archive to cloud…" }).click();
      expect(await page.getByTestId("archive-confirm").textContent()).toContain("uploads");
      await page.getByRole("button", { name: "Upload to the cloud" }).click();
      const link = page.getByTestId("workspace-download");
      await link.waitFor();
      expect(await link.getAttribute("href")).toBe(`/api/tasks/${taskId}/workspace/download`);
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      expect(download.suggestedFilename()).toBe(`task-${taskId}.tar.gz`);
      await screenshot(page, "workspace-task-header");

      await page.goto(`${origin}/#/devices`);
      await expect
        .poll(() => page.getByTestId("workspace-disk").textContent(), UI_POLL)
        .toMatch(/Workspaces: .+ in 1/);
      await page.getByLabel("Idle longer than (hours)").fill("0");
      await page.getByRole("button", { name: "Clean up…" }).click();
      await expect
        .poll(() => page.getByTestId("cleanup-preview").textContent(), UI_POLL)
        .toContain(taskId.slice(0, 8));
      const dir = join(executor.home, "workspaces", taskId);
      expect(existsSync(dir)).toBe(true);
      // Cloud backup is off by default: the cleanup keeps the workspace on the device.
      expect(await page.getByTestId("device-cloud-backup").isChecked()).toBe(false);
      expect(await page.getByTestId("cleanup-explain").textContent()).toContain(
        "nothing is uploaded",
      );
      await screenshot(page, "workspace-cleanup-preview");
      await page.getByRole("button", { name: "Keep on this device and remove 1" }).click();
      await expect
        .poll(() => page.getByTestId("cleanup-result").textContent(), UI_POLL)
        .toContain("kept on this device");
      expect(existsSync(dir)).toBe(false);
      // The owner turns backup on: the toggle and its one-line explanation say what it uploads.
      await page.getByTestId("device-cloud-backup").check();
      await expect
        .poll(() => page.getByTestId("device-cloud-backup-hint").textContent(), UI_POLL)
        .toContain("uploads");
      await page.getByLabel("Idle longer than (hours)").fill("0");
      await page.getByRole("button", { name: "Clean up…" }).click();
      await page.getByText("No workspace has been idle that long.").waitFor();
      await page.goto(`${origin}/#/tasks/${taskId}`);
      await expect
        .poll(() => page.getByTestId("workspace-state").textContent(), UI_POLL)
        .toContain("kept on");
      await context.close();
    },
    UI_TEST_MS,
  );
});
