import { afterEach, describe, expect, it, vi } from "vitest";
import type { LiveFrame } from "@wegent/protocol";
import { noticeFrame, setWaitingCount } from "../src/lib/attention";

const TASK = "00000000-0000-4000-8000-000000000001";
const MESSAGE = "00000000-0000-4000-8000-000000000002";

const request: LiveFrame = {
  type: "input:request",
  liveSeq: 1,
  taskId: TASK,
  messageId: MESSAGE,
  request: {
    requestId: "00000000-0000-4000-8000-000000000003",
    messageId: MESSAGE,
    kind: "permission",
    tool: "Bash",
    input: { command: "make" },
    createdAt: "2026-11-29T20:00:00.000Z",
    expiresAt: "2026-11-29T20:10:00.000Z",
  },
};

function hidden(value: boolean) {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
  document.dispatchEvent(new Event("visibilitychange"));
}

afterEach(() => {
  hidden(false);
  setWaitingCount(0);
  vi.unstubAllGlobals();
});

describe("attention: title count and notifications", () => {
  it("counts waiting requests in the title", () => {
    setWaitingCount(2);
    expect(document.title).toBe("(2) Wegent Edge");
    setWaitingCount(0);
    expect(document.title).toBe("Wegent Edge");
  });

  it("notifies only while hidden and only once allowed; visible again resets the count", () => {
    const shown: { title: string; body: string }[] = [];
    class FakeNotification {
      static permission = "default";
      static requestPermission = vi.fn();
      onclick: (() => void) | null = null;
      constructor(title: string, options: { body: string }) {
        shown.push({ title, body: options.body });
      }
      close() {}
    }
    vi.stubGlobal("Notification", FakeNotification);
    noticeFrame(request, () => "Fix the build");
    expect(shown).toEqual([]); // visible: nothing
    hidden(true);
    noticeFrame(request, () => "Fix the build");
    expect(shown).toEqual([]); // not allowed yet: the count only
    expect(document.title).toBe("(1) Wegent Edge");
    expect(FakeNotification.requestPermission).not.toHaveBeenCalled();
    FakeNotification.permission = "granted";
    noticeFrame(
      {
        type: "message:done",
        liveSeq: 2,
        taskId: TASK,
        messageId: MESSAGE,
        status: "completed",
        content: "",
      },
      () => "Fix the build",
    );
    expect(shown).toEqual([{ title: "Fix the build", body: "The agent finished." }]);
    expect(document.title).toBe("(2) Wegent Edge");
    hidden(false);
    expect(document.title).toBe("Wegent Edge");
  });
});
