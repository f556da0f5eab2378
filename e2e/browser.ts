// A real Chromium for the end-to-end story: Debian's own build driven by playwright-core, so
// nothing is ever downloaded. Screenshots land in test-artifacts/ (git-ignored) for a human.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "./harness";

/** Debian's Chromium, used when installed (apt-get install chromium). */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, "test-artifacts");

/** Flags for a closed network: without them Chromium keeps dialling Google's hosts. */
const QUIET = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * The package's own flags minus the ones that would switch off the very browser checks our
 * tests rely on (same-origin policy, mixed content).
 */
const UNSAFE = new Set(["--disable-web-security", "--allow-running-insecure-content"]);

/**
 * Which Chromium the browser tests drive: Debian's when present (or when
 * WEGENT_CHROMIUM=debian), else the one inside the `@sparticuz/chromium` npm package, so
 * `npm install && npm test` works on a bare machine with no apt step. Never a downloaded build.
 */
export async function chromiumBinary(): Promise<{ path: string; args: string[]; source: string }> {
  const choice = process.env.WEGENT_CHROMIUM;
  if (choice !== "bundled" && existsSync(DEBIAN_CHROMIUM)) {
    return { path: DEBIAN_CHROMIUM, args: QUIET, source: "debian" };
  }
  if (choice === "debian") {
    throw new Error(`WEGENT_CHROMIUM=debian but ${DEBIAN_CHROMIUM} is missing.`);
  }
  const bundled = (await import("@sparticuz/chromium")).default;
  const path = await bundled.executablePath();
  // The package brings its own headless mode (`--headless='shell'`).
  const quiet = QUIET.filter((arg) => arg !== "--headless");
  const args = [...bundled.args.filter((arg) => !UNSAFE.has(arg)), ...quiet];
  return { path, args: [...new Set(args)], source: "@sparticuz/chromium" };
}

/**
 * Longest a browser wait may take: sized for a loaded 2-core CI machine (wrangler, executors,
 * Claude Code and Chromium share it with other work), not for a quiet laptop. Every wait is
 * for a state the UI promises, so it ends as soon as that state shows; only a broken UI pays
 * the whole limit.
 */
export const UI_WAIT_MS = 60_000;

/** `expect.poll` options for such a state (vitest's default gives up after 1 s). */
export const UI_POLL = { timeout: UI_WAIT_MS, interval: 200 } as const;

/**
 * Starting a browser file's world (Chromium, migrations, `wrangler dev`, an executor) and
 * one of its tests: measured 140-180 s for the start alone with the CPU loaded (load ~20 on 2
 * cores), where the old 180 s hook limit failed four files of five.
 */
export const BOOT_WAIT_MS = 420_000;
export const UI_TEST_MS = 300_000;

/** Fails (never skips) when no Chromium can start: that is a broken setup, not a pass. */
export async function launchChromium(): Promise<Browser> {
  const binary = await chromiumBinary();
  return chromium.launch({ executablePath: binary.path, timeout: UI_WAIT_MS, args: binary.args });
}

/**
 * Saves test-artifacts/<name>.png and returns its path. A full-page capture misdraws sticky
 * elements (the phone layout's composer), so `viewport` shows exactly what the screen shows.
 */
export async function screenshot(
  page: Page,
  name: string,
  area: "fullPage" | "viewport" = "fullPage",
): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: area === "fullPage", timeout: UI_WAIT_MS });
  return path;
}

/** How far the page can scroll sideways (0 means it fits), with the widest offender if any. */
export async function horizontalOverflow(
  page: Page,
): Promise<{ overflow: number; widest: string | null }> {
  return page.evaluate(() => {
    const root = document.documentElement;
    const overflow = Math.max(root.scrollWidth, document.body.scrollWidth) - root.clientWidth;
    let widest: string | null = null;
    if (overflow > 0) {
      let right = root.clientWidth;
      for (const element of Array.from(document.body.querySelectorAll("*"))) {
        const box = element.getBoundingClientRect();
        if (box.right > right) {
          right = box.right;
          const id = element.getAttribute("data-testid");
          widest = `${element.tagName.toLowerCase()}${id ? `[data-testid=${id}]` : ""}.${element.className} (right edge ${Math.round(box.right)})`;
        }
      }
    }
    return { overflow, widest };
  });
}

export interface ContentSample {
  at: number;
  status: string | null;
  text: string;
}

/**
 * Records, inside the page, every change of the newest assistant reply (its status and its
 * text) so no intermediate streamed state is missed between two polls from the test.
 */
export async function recordLatestReply(page: Page): Promise<void> {
  await page.evaluate(() => {
    type Sample = { at: number; status: string | null; text: string };
    const w = window as unknown as {
      __replySamples?: Sample[];
      __replyObserver?: MutationObserver;
    };
    w.__replyObserver?.disconnect();
    const samples: Sample[] = [];
    w.__replySamples = samples;
    const take = () => {
      const replies = document.querySelectorAll('[data-testid="assistant-message"]');
      const reply = replies[replies.length - 1];
      if (!reply) return;
      const status = reply.getAttribute("data-status");
      const text =
        reply.querySelector('[data-testid="assistant-content"]')?.textContent?.trim() ?? "";
      const last = samples[samples.length - 1];
      if (!last || last.status !== status || last.text !== text) {
        samples.push({ at: performance.now(), status, text });
      }
    };
    const observer = new MutationObserver(take);
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["data-status"],
    });
    w.__replyObserver = observer;
    take();
  });
}

export async function replySamples(page: Page): Promise<ContentSample[]> {
  return page.evaluate(
    () => (window as unknown as { __replySamples?: ContentSample[] }).__replySamples ?? [],
  );
}
