// The conversation as it happened, and landing the work, in a real Chromium at 1280 and 375 px:
// a real executor runs the real Claude Code against the fake model in a project's worktree.
// text → Bash → text → Read → Edit → text renders in that order live and after a reload, each
// tool row with its summary and the Edit as a diff; Stop ends a running row; from the Changes
// tab Commit and Merge land the change on main (git log shows it), Push reaches a bare remote,
// and a base that changed the same lines is refused with its reason.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CommandResult, GitLandResult, type TaskWithMessages } from "@wegent/protocol";
import { ARTIFACTS, horizontalOverflow, launchChromium, screenshot, UI_POLL } from "./browser";
import { type FakeModel, type FakeTurn, startFakeModel, text, toolUse } from "./fake-model/server";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  type Session,
  signUp,
  startExecutor,
  startPlatform,
  until,
} from "./harness";

let browser: Browser | undefined;
let context: BrowserContext | undefined;
let platform: Platform;
let fake: FakeModel;
let user: Session;
let ex: ExecutorProcess;
let home: string;
let project: string;
let page: Page;
const pageErrors: string[] = [];
const deviceId = `e2eland${process.pid}x${Date.now().toString(16)}`;

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

beforeAll(async () => {
  browser = await launchChromium();
  [platform, fake] = await Promise.all([startPlatform(), startFakeModel()]);
  user = await signUp(platform.origin, "e2e_transcript");
  const { token } = await createToken(platform.origin, user);
  home = mkdtempSync(join(tmpdir(), "wegent-land-"));
  project = mkdtempSync(join(tmpdir(), "demo-app-"));
  git(project, "init", "-q", "-b", "main");
  git(project, "config", "user.name", "Ana");
  git(project, "config", "user.email", "ana@example.com");
  for (const n of [1, 2, 3]) {
    writeFileSync(join(project, "a.txt"), ["one", "two", "three"].slice(0, n).join("\n") + "\n");
    git(project, "add", "-A");
    git(project, "commit", "-qm", `commit ${n}`);
  }
  ex = startExecutor({
    origin: platform.origin,
    token,
    modelUrl: fake.url,
    deviceId,
    args: ["--project", project],
    home,
  });
  await ex.waitFor("registered", 30_000);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(20_000);
  const [name, value] = user.cookie.split("=") as [string, string];
  await context.addCookies([{ name, value, url: platform.origin }]);
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
}, 180_000);

afterAll(async () => {
  await ex?.stop("SIGKILL");
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await fake?.close();
  await platform?.stop();
}, 60_000);

const TITLE = "Fix the second line of a.txt";

/** Starts a project task whose first turn runs `sleep`; then scripts the rest with its paths. */
async function projectTask(prompt: string, rest: (tree: string) => FakeTurn[]) {
  const first: FakeTurn = {
    blocks: [
      text("I'll check the tests first."),
      toolUse("Bash", { command: "sleep 4 && echo tests ok", description: "run the tests" }),
    ],
  };
  fake.on(prompt, [first]);
  const device = await api<{ device: { projects: { id: string }[] } }>(
    platform.origin,
    "GET",
    `/api/devices/${deviceId}`,
    { cookie: user.cookie },
  );
  const projectId = device.body.device.projects[0]!.id;
  const created = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
    cookie: user.cookie,
    body: { message: prompt, target: { deviceId, projectId } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const taskId = created.body.task.id;
  const tree = join(home, "worktrees", projectId, taskId.slice(0, 8));
  fake.reset();
  fake.on(prompt, [first, ...rest(tree)]);
  return { taskId, tree };
}

const command = (taskId: string, key: string, args: Record<string, unknown> = {}) =>
  api<CommandResult>(platform.origin, "POST", `/api/devices/${deviceId}/commands`, {
    cookie: user.cookie,
    body: { key, args, taskId },
  });

/** What the latest reply shows, in order: `text:<words>` or `tool:<name>`. */
async function order(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const replies = document.querySelectorAll('[data-testid="assistant-message"]');
    const content = replies[replies.length - 1]?.querySelector('[data-testid="assistant-content"]');
    return [...(content?.children ?? [])].map((el) =>
      el.getAttribute("data-testid") === "tool-use"
        ? `tool:${el.getAttribute("data-tool")}`
        : `text:${el.textContent?.trim()}`,
    );
  });
}

const EXPECTED = [
  "text:I'll check the tests first.",
  "tool:Bash",
  "text:Now the fix.",
  "tool:Read",
  "tool:Edit",
  "text:Done: a.txt updated.",
];

describe("the conversation as it happened", () => {
  let taskId = "";

  it("draws text and tool rows in order live and after a reload, with summaries and the Edit's diff", async () => {
    const started = await projectTask(TITLE, (tree) => [
      { blocks: [text("Now the fix."), toolUse("Read", { file_path: join(tree, "a.txt") })] },
      {
        blocks: [
          toolUse("Edit", { file_path: join(tree, "a.txt"), old_string: "two", new_string: "TWO" }),
        ],
      },
      { blocks: [text("Done: a.txt updated.")] },
    ]);
    taskId = started.taskId;
    await page.goto(`${platform.origin}/#/tasks/${taskId}`);
    // Live: the Bash row runs with its clock, and the activity line says what runs.
    const bash = page.locator('[data-testid="tool-use"][data-tool="Bash"]');
    await bash.and(page.locator('[data-state="running"]')).waitFor({ timeout: 60_000 });
    await expect
      .poll(() => page.getByTestId("activity").textContent(), { timeout: 10_000 })
      .toMatch(/^Running sleep 4 && echo tests ok — \d+ s$/);
    await screenshot(page, "transcript-running-1280", "viewport");
    const reply = page.getByTestId("assistant-message").last();
    await reply.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 90_000 });
    expect(await order(page)).toEqual(EXPECTED);
    const live = await reply.getByTestId("tool-summary").allTextContents();
    expect(live[0]).toMatch(/^Bash · sleep 4 && echo tests ok · exit 0 · \d\.\d s$/);
    expect(live.slice(1)).toEqual(["Read · a.txt", "Edit · a.txt · +1 −1"]);
    const diff = await reply.getByTestId("tool-diff").textContent();
    expect(diff).toContain("- two");
    expect(diff).toContain("+ TWO");
    await screenshot(page, "transcript-1280");

    await page.reload();
    const reloaded = page.getByTestId("assistant-message").last();
    await reloaded.and(page.locator('[data-status="completed"]')).waitFor();
    expect(await order(page)).toEqual(EXPECTED);
    expect(await reloaded.getByTestId("tool-summary").allTextContents()).toEqual(live);

    // The export has the same order.
    const md = await fetch(`${platform.origin}/api/tasks/${taskId}/export?format=md`, {
      headers: { cookie: user.cookie },
    }).then((r) => r.text());
    const at = (s: string) => md.indexOf(s);
    expect(at("I'll check the tests first.")).toBeLessThan(at("Now the fix."));
    expect(at("Now the fix.")).toBeLessThan(at("Done: a.txt updated."));
    expect(pageErrors).toEqual([]);
  });

  it("at 375 px the task fits the width and shows the conversation", async () => {
    const phone = await context!.newPage();
    await phone.setViewportSize({ width: 375, height: 812 });
    await phone.goto(`${platform.origin}/#/tasks/${taskId}`);
    await phone.getByTestId("assistant-message").last().waitFor();
    // Each a state the page promises once laid out (polled: a loaded machine lays out late).
    await expect
      .poll(() => horizontalOverflow(phone), UI_POLL)
      .toEqual({ overflow: 0, widest: null });
    const conversationShare = () =>
      phone.evaluate(() => {
        const list = document
          .querySelector('[data-testid="message-list"]')!
          .getBoundingClientRect();
        const visible = Math.max(0, Math.min(list.bottom, innerHeight) - Math.max(list.top, 0));
        return visible / innerHeight;
      });
    await expect.poll(conversationShare, UI_POLL).toBeGreaterThanOrEqual(0.6);
    const share = await conversationShare();
    writeFileSync(
      join(ARTIFACTS, "phone-conversation-share.txt"),
      `conversation: ${(share * 100).toFixed(1)} % of 812 px\n`,
    );
    expect(share, `the conversation takes ${(share * 100).toFixed(1)} %`).toBeGreaterThanOrEqual(
      0.6,
    );
    // Opens at its latest message: the last reply's end is on screen.
    await expect
      .poll(
        () =>
          phone.evaluate(
            () =>
              [...document.querySelectorAll('[data-testid="assistant-message"]')]
                .at(-1)!
                .getBoundingClientRect().bottom,
          ),
        UI_POLL,
      )
      .toBeLessThanOrEqual(812);
    await screenshot(phone, "transcript-375", "viewport");

    // A permission card on the phone: Deny is on screen and takes the click.
    fake.on("write the phone file", [
      { blocks: [toolUse("Bash", { command: "printf x > phone.txt", description: "write it" })] },
      { blocks: [text("Not written.")] },
    ]);
    await phone.goto(`${platform.origin}/#/`);
    await phone.getByTestId("permission-mode").selectOption("default");
    await phone.getByTestId("composer").fill("Please write the phone file");
    await phone.getByTestId("send-button").click();
    const card = phone.getByTestId("permission-card");
    await card.waitFor({ timeout: 60_000 });
    /** The button at the centre of a test id's box: it is on screen and nothing covers it. */
    const onTop = async (testId: string) => {
      const button = phone.getByTestId(testId);
      await button.scrollIntoViewIfNeeded();
      const box = await button.boundingBox();
      if (!box || box.y + box.height > 812) return `below the screen (${JSON.stringify(box)})`;
      return phone.evaluate(
        ([x, y]) => document.elementFromPoint(x!, y!)?.closest("button")?.dataset.testid ?? null,
        [box.x + box.width / 2, box.y + box.height / 2],
      );
    };
    // Polled: the card scrolls into place, and a loaded machine lays it out late.
    await expect.poll(() => onTop("deny"), UI_POLL).toBe("deny");
    await screenshot(phone, "permission-card-375", "viewport");
    await phone.getByTestId("deny").click();
    await expect.poll(() => onTop("deny-confirm"), UI_POLL).toBe("deny-confirm");
    await phone.getByTestId("deny-confirm").click();
    await card.waitFor({ state: "detached" });
    expect(await horizontalOverflow(phone)).toEqual({ overflow: 0, widest: null });
    await phone.close();
  });

  it("Commit and Merge from the Changes tab land the change on main", async () => {
    await page.getByTestId("tab-changes").click();
    const land = page.getByTestId("land");
    await land.waitFor({ timeout: 30_000 });
    await expect(page.getByTestId("commit-message").inputValue()).resolves.toBe(TITLE);
    await page.getByTestId("commit-message").fill("Shout the second line");
    await page.getByTestId("land-commit").click();
    await expect
      .poll(() => page.getByTestId("land-outcome").getAttribute("data-ok"), { timeout: 30_000 })
      .toBe("true");
    const merge = page.getByTestId("land-merge");
    await expect(merge.textContent()).resolves.toBe("Merge into main");
    await expect.poll(() => merge.isEnabled(), { timeout: 30_000 }).toBe(true);
    await merge.click();
    await expect
      .poll(() => page.getByTestId("land-outcome").textContent(), { timeout: 30_000 })
      .toMatch(/main fast-forwarded/);
    expect(git(project, "log", "-1", "--format=%s", "main")).toBe("Shout the second line");
    expect(git(project, "show", "main:a.txt")).toBe("one\nTWO\nthree");
    expect(git(project, "status", "--porcelain")).toBe("");
    await page.getByTestId("branch-lines").locator("summary").click();
    await expect(page.getByTestId("branch-lines").textContent()).resolves.toContain(
      `merge wegent/${taskId.slice(0, 8)}`,
    );
    await screenshot(page, "land-1280");

    // Push reaches a bare remote made here.
    const bare = mkdtempSync(join(tmpdir(), "remote-"));
    git(bare, "init", "-q", "--bare");
    git(project, "remote", "add", "origin", bare);
    const pushed = await command(taskId, "git.push");
    expect(pushed.status).toBe(200);
    expect(GitLandResult.parse(JSON.parse(pushed.body.stdout))).toMatchObject({ ok: true });
    expect(git(bare, "log", "-1", "--format=%s", `wegent/${taskId.slice(0, 8)}`)).toBe(
      "Shout the second line",
    );

    // The owner changes the same line on main; the task's next change is refused at merge.
    writeFileSync(join(project, "a.txt"), "one\nOWNER\nthree\n");
    git(project, "commit", "-qam", "owner's line");
    const tree = join(home, "worktrees");
    const treeDir = git(project, "worktree", "list", "--porcelain")
      .split("\n")
      .find((l) => l.startsWith(`worktree ${tree}`))!
      .slice("worktree ".length);
    writeFileSync(join(treeDir, "a.txt"), "one\nTASK\nthree\n");
    const committed = await command(taskId, "git.commit", { message: "task's line" });
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    expect(committed.body.exitCode, committed.body.stderr).toBe(0);
    const refused = await command(taskId, "git.merge");
    expect(refused.status).toBe(200);
    expect(refused.body.exitCode).toBe(1);
    expect(GitLandResult.parse(JSON.parse(refused.body.stdout))).toMatchObject({
      ok: false,
      refusal: "conflict",
      conflicts: ["a.txt"],
    });
    expect(git(project, "log", "-1", "--format=%s", "main")).toBe("owner's line");
    expect(git(project, "status", "--porcelain")).toBe("");
    // Every landing call is in the device's audit.
    const audit = await api<{ entries: { key: string; outcome: string }[] }>(
      platform.origin,
      "GET",
      `/api/devices/${deviceId}/audit?limit=50`,
      { cookie: user.cookie },
    );
    const keys = audit.body.entries.map((e) => e.key);
    for (const key of ["git.commit", "git.merge", "git.push", "git.status"]) {
      expect(keys).toContain(key);
    }
    // Someone else cannot land it.
    const other = await signUp(platform.origin, "e2e_stranger");
    const stranger = await api(platform.origin, "POST", `/api/devices/${deviceId}/commands`, {
      cookie: other.cookie,
      body: { key: "git.merge", args: {}, taskId },
    });
    expect(stranger.status).toBe(404);
  });

  it("a task with 20 exchanges opens at its last message, the composer in view, at both widths; a request card comes into view unless the reader reads back", async () => {
    const lines = (n: number) =>
      Array.from({ length: 20 }, (_, i) => `Line ${i + 1} of answer ${n}.`).join("\n\n");
    const EXCHANGES = 20;
    for (let n = 1; n <= EXCHANGES; n++)
      fake.on(`question number ${n}.`, [{ blocks: [text(lines(n))] }]);
    const created = await api<TaskWithMessages>(platform.origin, "POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Answer question number 1.", target: { deviceId } },
    });
    expect(created.status).toBe(201);
    const id = created.body.task.id;
    const finished = (count: number) =>
      until(
        async () => {
          const d = await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${id}`, {
            cookie: user.cookie,
          });
          const replies = d.body.messages.filter((m) => m.role === "assistant");
          return replies.length === count && replies.every((m) => m.status === "completed")
            ? true
            : undefined;
        },
        60_000,
        `reply ${count}`,
      );
    await finished(1);
    for (let n = 2; n <= EXCHANGES; n++) {
      const sent = await api(platform.origin, "POST", `/api/tasks/${id}/messages`, {
        cookie: user.cookie,
        body: { message: `Answer question number ${n}.` },
      });
      expect(sent.status).toBe(201);
      await finished(n);
    }
    for (const [width, height] of [
      [1280, 800],
      [375, 812],
    ] as const) {
      const view = await context!.newPage();
      await view.setViewportSize({ width, height });
      await view.goto(`${platform.origin}/#/tasks/${id}`);
      await view
        .getByTestId("assistant-message")
        .nth(EXCHANGES - 1)
        .waitFor();
      // Late layout (markdown, fonts) must not leave it short of the end: measured after a while.
      await view.waitForTimeout(1_000);
      const seen = await view.evaluate(() => {
        const replies = [...document.querySelectorAll('[data-testid="assistant-message"]')];
        const last = replies.at(-1)!.getBoundingClientRect();
        const first = replies[0]!.getBoundingClientRect();
        const composer = document.querySelector(".composer")!.getBoundingClientRect();
        return {
          innerHeight,
          scrollY,
          documentHeight: document.documentElement.scrollHeight,
          lastBottom: last.bottom,
          firstTop: first.top,
          composerBottom: composer.bottom,
          composerTop: composer.top,
          replies: replies.length,
          list: (() => {
            const l = document.querySelector('[data-testid="message-list"]')!;
            return [l.scrollTop, l.scrollHeight, l.clientHeight];
          })(),
        };
      });
      await screenshot(view, `many-exchanges-${width}`, "viewport");
      // The last reply ends above the composer; the first is scrolled away; the composer shows.
      expect(seen.lastBottom, JSON.stringify(seen)).toBeLessThanOrEqual(seen.composerTop + 1);
      expect(seen.lastBottom, JSON.stringify(seen)).toBeGreaterThan(0);
      expect(seen.firstTop, JSON.stringify(seen)).toBeLessThan(0);
      expect(seen.composerBottom, JSON.stringify(seen)).toBeLessThanOrEqual(height + 1);
      // On desktop the list scrolls, never the page (the header stays).
      if (width === 1280) expect(seen.scrollY, JSON.stringify(seen)).toBe(0);
      await view.close();
    }

    // A request card at 375 px: brought into view for a reader at the end, not for one reading
    // back (their place is kept).
    const phone = await context!.newPage();
    await phone.setViewportSize({ width: 375, height: 812 });
    await phone.goto(`${platform.origin}/#/tasks/${id}`);
    await phone
      .getByTestId("assistant-message")
      .nth(EXCHANGES - 1)
      .waitFor();
    await phone.waitForTimeout(500);
    fake.on("write two files.", [
      { blocks: [toolUse("Bash", { command: "printf a > first.txt", description: "first" })] },
      { blocks: [toolUse("Bash", { command: "printf b > second.txt", description: "second" })] },
      { blocks: [text("Both written.")] },
    ]);
    const asked = await api(platform.origin, "POST", `/api/tasks/${id}/messages`, {
      cookie: user.cookie,
      body: { message: "Please write two files.", permissionMode: "default" },
    });
    expect(asked.status).toBe(201);
    const card = phone.getByTestId("permission-card");
    await card.waitFor({ timeout: 60_000 });
    await phone.waitForTimeout(500);
    const cardBox = () =>
      phone.evaluate(() => {
        const box = document.querySelector('[data-testid="permission-card"]')!;
        const composer = document.querySelector(".composer")!.getBoundingClientRect();
        const deny = box.querySelector('[data-testid="deny"]')!.getBoundingClientRect();
        return {
          top: box.getBoundingClientRect().top,
          denyBottom: deny.bottom,
          composerTop: composer.top,
          scrollY,
        };
      });
    const atEnd = await cardBox();
    expect(atEnd.top, JSON.stringify(atEnd)).toBeGreaterThanOrEqual(0);
    expect(atEnd.denyBottom, JSON.stringify(atEnd)).toBeLessThanOrEqual(atEnd.composerTop + 1);
    await screenshot(phone, "request-card-375", "viewport");
    // Now read back, then the second request arrives: the page stays where the reader is.
    await phone.evaluate(() => window.scrollTo(0, 400));
    await phone.waitForTimeout(300);
    // Answered by API: a click would scroll the card into view itself.
    const allowNext = async () => {
      const d = await api<TaskWithMessages>(platform.origin, "GET", `/api/tasks/${id}`, {
        cookie: user.cookie,
      });
      const request = d.body.pendingInput[0];
      if (!request) throw new Error("no request waits");
      const res = await api(
        platform.origin,
        "POST",
        `/api/tasks/${id}/input/${request.requestId}`,
        { cookie: user.cookie, body: { behavior: "allow" } },
      );
      expect(res.status).toBe(200);
    };
    await allowNext();
    await expect
      .poll(() => card.getByTestId("permission-command").textContent(), { timeout: 60_000 })
      .toBe("printf b > second.txt");
    await phone.waitForTimeout(500);
    expect(await phone.evaluate(() => scrollY)).toBe(400);
    await allowNext();
    await card.waitFor({ state: "detached", timeout: 60_000 });
    await phone.close();
  }, 600_000);

  it("Stop ends the running tool row", async () => {
    const prompt = "Run the slow suite";
    fake.on(prompt, [
      // Not a bare `sleep N`: Claude Code refuses a lone long sleep at once (the row then fails).
      {
        blocks: [
          toolUse("Bash", { command: "echo started && sleep 60", description: "slow suite" }),
        ],
      },
      { blocks: [text("never")] },
    ]);
    await page.goto(`${platform.origin}/#/`);
    await page.getByTestId("composer").fill(prompt);
    await page.getByTestId("send-button").click();
    await page.waitForURL(/#\/tasks\//);
    const row = page.locator('[data-testid="tool-use"][data-tool="Bash"]');
    await row
      .and(page.locator('[data-state="running"]'))
      .waitFor({ timeout: 60_000 })
      .catch(async (error: unknown) => {
        await screenshot(page, "stop-failed-1280");
        throw error;
      });
    await page.getByTestId("stop-button").click();
    await row.and(page.locator('[data-state="stopped"]')).waitFor({ timeout: 30_000 });
    await expect(row.getByTestId("tool-summary").textContent()).resolves.toBe(
      "Bash · echo started && sleep 60 · stopped",
    );
    await page.reload();
    await row.and(page.locator('[data-state="stopped"]')).waitFor();
    await screenshot(page, "transcript-stopped-1280");
    expect(pageErrors).toEqual([]);
  });
});
