// Settings in a real browser: upload a skill, switch it off, add an MCP server, save runtime
// settings — and the Devices page shows the device in sync with all of it. Also at 375 px.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  horizontalOverflow,
  launchChromium,
  screenshot,
  UI_POLL,
  UI_WAIT_MS,
  BOOT_WAIT_MS,
  UI_TEST_MS,
} from "./browser";
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
import { makeZip, skillMd } from "../worker/test/zip-writer";

// Sized for a loaded CI machine (e2e/browser.ts).
vi.setConfig({ testTimeout: UI_TEST_MS });

let browser: Browser | undefined;
let platform: Platform | undefined;
let executor: ExecutorProcess | undefined;
let page: Page;
let user: Session;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  platform = await startPlatform();
  user = await signUp(platform.origin, "settings_user");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(UI_WAIT_MS);
  const [name, value] = user.cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: platform.origin }]);
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, BOOT_WAIT_MS);

afterAll(async () => {
  await executor?.stop("SIGKILL");
  await browser?.close();
  await platform?.stop();
});

describe("the Settings page", () => {
  it("manages skills, MCP servers and runtime settings, and the device follows", async () => {
    const origin = platform!.origin;
    const token = (await createToken(origin, user)).token;
    executor = startExecutor({ origin, token });
    await executor.waitFor("registered");

    await page.goto(`${origin}/#/settings`, { timeout: UI_WAIT_MS });
    await page.getByTestId("runtime-append-prompt").fill("Answer like a ship's captain.");
    await page.getByTestId("runtime-agent-env").fill("GITHUB_TOKEN");
    await page.getByTestId("runtime-save").click();
    await page.getByText("Saved.").waitFor();

    const zip = await makeZip([
      { path: "harbour/SKILL.md", data: skillMd("harbour", "Finds a harbour for the ship.") },
    ]);
    await page.getByTestId("skill-upload").setInputFiles({
      name: "harbour.zip",
      mimeType: "application/zip",
      buffer: Buffer.from(zip),
    });
    await page.getByTestId("skill-harbour").waitFor();
    // A bad zip says why, in the server's words.
    await page
      .getByTestId("skill-upload")
      .setInputFiles({ name: "bad.zip", mimeType: "application/zip", buffer: Buffer.from("no") });
    await expect
      .poll(() => page.getByTestId("skill-error").textContent(), UI_POLL)
      .toContain("not a zip");

    await page.getByTestId("mcp-name").fill("files");
    await page.getByTestId("mcp-command").fill("npx");
    await page.getByTestId("mcp-args").fill("-y files-server");
    await page.getByTestId("mcp-env").fill("FILES_KEY");
    await page.getByTestId("mcp-add").click();
    await page.getByTestId("mcp-files").waitFor();

    const skills = await api<{ skills: { name: string }[] }>(origin, "GET", "/api/skills", {
      cookie: user.cookie,
    });
    expect(skills.body.skills.map((s) => s.name)).toEqual(["harbour"]);
    const runtime = await api<{ runtime: { appendSystemPrompt: string; agentEnv: string[] } }>(
      origin,
      "GET",
      "/api/settings/runtime",
      { cookie: user.cookie },
    );
    expect(runtime.body.runtime).toMatchObject({
      appendSystemPrompt: "Answer like a ship's captain.",
      agentEnv: ["GITHUB_TOKEN"],
    });

    await page.setViewportSize({ width: 375, height: 900 });
    expect(await horizontalOverflow(page)).toEqual({ overflow: 0, widest: null });
    await screenshot(page, "settings-375");
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(page, "settings-1280");

    await page.evaluate(() => {
      window.location.hash = "#/devices";
    });
    const state = page
      .locator(`li[data-testid="device-${executor!.deviceId}"]`)
      .getByTestId("device-capabilities");
    await expect.poll(() => state.getAttribute("data-state"), UI_POLL).toBe("synced");
    expect(await state.textContent()).toContain("in sync");
    expect(pageErrors).toEqual([]);
  });
});
