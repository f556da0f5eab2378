// The installable app and acting from a notification, in Debian's Chromium: the manifest and
// service worker make the app installable; a push (delivered with CDP's
// ServiceWorker.deliverPushMessage, as no push service is reachable here) shows the
// notification with Allow / Deny for a real permission request of a real Claude Code run; the
// Allow action (a NotificationEvent built inside the worker: a click has no CDP command)
// answers through the ordinary answer route and the run goes on; the Inbox lists the task.
// The Chromium inside @sparticuz/chromium denies notifications, so without Debian's this file
// skips with one line saying why.
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TaskWithMessages } from "@wegent/protocol";
import { BOOT_WAIT_MS, DEBIAN_CHROMIUM, UI_TEST_MS, UI_WAIT_MS } from "./browser";
import { type FakeModel, startFakeModel, text, toolUse, TOOL_RESULT } from "./fake-model/server";
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

vi.setConfig({ testTimeout: UI_TEST_MS });

const HAVE_DEBIAN_CHROMIUM = existsSync(DEBIAN_CHROMIUM);
if (!HAVE_DEBIAN_CHROMIUM) {
  console.log(
    `push-browser: skipped — needs Debian's Chromium at ${DEBIAN_CHROMIUM} (apt-get install -y chromium); @sparticuz/chromium denies notifications.`,
  );
}

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let platform: Platform | undefined;
let fake: FakeModel | undefined;
let executor: ExecutorProcess | undefined;
let cookie = "";
let page: Page;

describe.skipIf(!HAVE_DEBIAN_CHROMIUM)("push notifications in Chromium", () => {
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: DEBIAN_CHROMIUM,
      timeout: UI_WAIT_MS,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    [platform, fake] = await Promise.all([startPlatform(), startFakeModel()]);
    const user = await signUp(platform.origin, "push_user");
    const { token } = await createToken(platform.origin, user);
    cookie = user.cookie;
    executor = startExecutor({ origin: platform.origin, token, modelUrl: fake.url });
    await executor.waitFor("registered", 30_000);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(UI_WAIT_MS);
    await context.grantPermissions(["notifications"], { origin: platform.origin });
    const [name, value] = user.cookie.split("=") as [string, string];
    await context.addCookies([{ name, value, url: platform.origin }]);
    page = await context.newPage();
    await page.goto(platform.origin, { timeout: UI_WAIT_MS });
  }, BOOT_WAIT_MS);

  afterAll(async () => {
    await executor?.stop("SIGKILL");
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await fake?.close();
    await platform?.stop();
  }, BOOT_WAIT_MS);

  it("is installable, shows a permission push with Allow/Deny, and Allow lets the run go on", async () => {
    const origin = platform!.origin;
    // The service worker controls the app, and the manifest says what an install needs.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const manifest = (await (await fetch(`${origin}/manifest.webmanifest`)).json()) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({ display: "standalone", name: "Wegent Edge" });
    const cdp = await context!.newCDPSession(page);
    const installability = (await cdp.send("Page.getInstallabilityErrors")) as {
      installabilityErrors: { errorId: string }[];
    };
    // A Playwright context is off the record; that alone is not the app's fault.
    const errors = installability.installabilityErrors
      .map((e) => e.errorId)
      .filter((id) => id !== "in-incognito");
    expect(errors).toEqual([]);

    fake!.on("make the push report", [
      {
        blocks: [
          text("I'll write it."),
          toolUse("Bash", { command: "printf push > push.txt", description: "write it" }),
        ],
      },
      { blocks: [text(`Done: ${TOOL_RESULT}`)] },
    ]);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await page.getByTestId("permission-mode").selectOption("default");
    await page.getByTestId("composer").fill("Please make the push report");
    await page.getByTestId("send-button").click();
    await page.waitForURL(/#\/tasks\//);
    const taskId = /#\/tasks\/([\w-]+)/.exec(page.url())![1]!;
    const detail = await until(
      async () => {
        const d = (await api<TaskWithMessages>(origin, "GET", `/api/tasks/${taskId}`, { cookie }))
          .body;
        return d.pendingInput.length === 1 ? d : undefined;
      },
      90_000,
      "the permission request",
    );
    const requestId = detail.pendingInput[0]!.requestId;

    // The Inbox lists the waiting task, first.
    await page.goto(`${origin}/#/inbox`);
    const item = page.getByTestId("inbox-item").first();
    await item.waitFor();
    await expect(item.getAttribute("data-reason")).resolves.toBe("needs_input");

    // The push, as the push service would hand it to the browser.
    await cdp.send("ServiceWorker.enable");
    const registrationId = await new Promise<string>((resolve) => {
      cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
          const reg = e.registrations.find((r) => r.scopeURL === `${origin}/`);
          if (reg) resolve(reg.registrationId);
        },
      );
    });
    const payload = {
      kind: "needs_input",
      taskId,
      requestId,
      requestKind: "permission",
      title: detail.task.title,
      body: "The agent asks to use Bash.",
      url: `/#/tasks/${taskId}`,
    };
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin,
      registrationId,
      data: JSON.stringify(payload),
    });
    const shown = await until(
      async () => {
        const list = await page.evaluate(async () => {
          const reg = await navigator.serviceWorker.ready;
          return (await reg.getNotifications()).map((n) => ({
            title: n.title,
            body: n.body,
            tag: n.tag,
            actions: (n as Notification & { actions?: { action: string }[] }).actions?.map(
              (a) => a.action,
            ),
          }));
        });
        return list.length > 0 ? list : undefined;
      },
      10_000,
      "the notification",
    );
    expect(shown[0]).toMatchObject({
      title: detail.task.title,
      tag: `task-${taskId}`,
      actions: ["allow", "deny"],
    });

    // Allow from the notification: the worker answers with the session cookie.
    const [worker] = context!.serviceWorkers();
    expect(worker).toBeDefined();
    await worker!.evaluate(async () => {
      // Runs inside the service worker (its own globals; Node's types do not know them).
      interface Scope {
        registration: { getNotifications(): Promise<unknown[]> };
        dispatchEvent(event: Event): boolean;
      }
      const g = globalThis as unknown as Scope & {
        NotificationEvent: new (
          type: string,
          init: { notification: unknown; action: string },
        ) => Event;
      };
      const [notification] = await g.registration.getNotifications();
      g.dispatchEvent(
        new g.NotificationEvent("notificationclick", { notification, action: "allow" }),
      );
    });
    const done = await until(
      async () => {
        const d = (await api<TaskWithMessages>(origin, "GET", `/api/tasks/${taskId}`, { cookie }))
          .body;
        return d.task.status === "completed" ? d : undefined;
      },
      90_000,
      "the run to go on and complete",
    );
    expect(done.messages.at(-1)?.content).toContain("Done:");
    const outcome = await until(
      async () => {
        const bodies = await page.evaluate(async () => {
          const reg = await navigator.serviceWorker.ready;
          return (await reg.getNotifications()).map((n) => n.body);
        });
        return bodies.find((b) => b.startsWith("Allowed"));
      },
      10_000,
      "the outcome notification",
    );
    expect(outcome).toBe("Allowed: the agent goes on.");
  });
});
