import { describe, expect, it } from "vitest";
import { LiveFocus } from "@wegent/protocol";
import { browserLabel, iosNeedsHomeScreen } from "../src/lib/push";
import { currentFocus } from "../src/state/focus";
import { parseRoute } from "../src/lib/route";

const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const ANDROID =
  "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";

function nav(userAgent: string, extra: Record<string, unknown> = {}): Navigator {
  return { userAgent, platform: "", maxTouchPoints: 0, ...extra } as unknown as Navigator;
}

function win(standalone: boolean): Window {
  return { matchMedia: () => ({ matches: standalone }) } as unknown as Window;
}

describe("the installable app", () => {
  it("says iOS Safari needs the Home Screen, and not once the app runs from there", () => {
    expect(iosNeedsHomeScreen(nav(IPHONE), win(false))).toBe(true);
    expect(iosNeedsHomeScreen(nav(IPHONE), win(true))).toBe(false);
    expect(iosNeedsHomeScreen(nav(IPHONE, { standalone: true }), win(false))).toBe(false);
    // iPadOS presents itself as a Mac with touch.
    expect(
      iosNeedsHomeScreen(nav("Macintosh", { platform: "MacIntel", maxTouchPoints: 5 }), win(false)),
    ).toBe(true);
    expect(iosNeedsHomeScreen(nav(ANDROID), win(false))).toBe(false);
  });

  it("labels browsers in the user's words", () => {
    expect(browserLabel(ANDROID)).toBe("Chrome on Android");
    expect(browserLabel(IPHONE)).toBe("Safari on iOS");
  });

  it("routes #/inbox and reports focus only with a well-formed task id", () => {
    expect(parseRoute("#/inbox")).toEqual({ page: "inbox" });
    window.location.hash = "#/tasks/not-a-task";
    const bad = currentFocus();
    expect(bad.taskId).toBeNull();
    expect(LiveFocus.safeParse(bad).success).toBe(true);
    const id = "00000000-0000-4000-8000-000000000001";
    window.location.hash = `#/tasks/${id}`;
    const good = currentFocus();
    expect(good).toMatchObject({ type: "live:focus", taskId: id });
    expect(LiveFocus.safeParse(good).success).toBe(true);
  });
});
