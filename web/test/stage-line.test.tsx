// The task page's stage line (issue 25 item 5): where the last reply's time went, for its owner.
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LiveFrame, MessageStages } from "@wegent/protocol";
import { ChatPage } from "../src/components/ChatPage";
import { StoreProvider } from "../src/state/store";
import { applyFrame, initialState, reducer } from "../src/state/reducer";
import {
  device,
  installFakeSocket,
  message,
  mockFetch,
  REPLY_ID,
  task,
  TASK_ID,
  USER_MSG_ID,
} from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const older: MessageStages = { queuedMs: 5, startedMs: 40, firstTokenMs: 90, doneMs: 300 };
const last: MessageStages = { queuedMs: 0, startedMs: 812, firstTokenMs: 1_270, doneMs: 4_215 };

function open(stages: MessageStages | null, earlier: MessageStages | null = older) {
  mockFetch((_method, url) => {
    if (url === "/api/devices") {
      return {
        body: {
          devices: [device({ id: "device-aaaa" })],
          cloud: { online: false, slotsUsed: 0, maxSlots: 0, executors: 0 },
        },
      };
    }
    if (url.startsWith("/api/tasks?"))
      return { body: { tasks: [task({ status: "completed" })], nextCursor: null } };
    if (url === `/api/tasks/${TASK_ID}`) {
      return {
        body: {
          task: task({ status: "completed" }),
          messages: [
            message({ id: "a0", status: "completed", content: "First.", stages: earlier }),
            message({ id: USER_MSG_ID, role: "user", content: "Again", status: "completed" }),
            message({ id: REPLY_ID, status: "completed", content: "Done.", stages }),
          ],
        },
      };
    }
    return undefined;
  });
  installFakeSocket();
  vi.stubGlobal("Notification", { permission: "default", requestPermission: vi.fn() });
  render(
    <StoreProvider onSignedOut={() => {}}>
      <ChatPage taskId={TASK_ID} />
    </StoreProvider>,
  );
}

describe("the task page's stage line", () => {
  it("shows the last reply's stage timings in one line", async () => {
    open(last);
    const line = await screen.findByTestId("task-stages");
    expect(line.textContent).toBe("queued 0 ms · started 0.8 s · first token 1.3 s · done 4.2 s");
  });

  it("falls back to the last reply that has them, and shows nothing when none has", async () => {
    open(null);
    expect((await screen.findByTestId("task-stages")).textContent).toBe(
      "queued 5 ms · started 40 ms · first token 90 ms · done 0.3 s",
    );
    cleanup();
    vi.unstubAllGlobals();
    open(null, null);
    expect(await screen.findAllByTestId("assistant-message")).toHaveLength(2);
    expect(screen.queryByTestId("task-stages")).toBeNull();
  });

  it("takes the figures from the live message:done without a reload", () => {
    const state = reducer(initialState, {
      type: "messages:loaded",
      task: task({ status: "running" }),
      messages: [message({ id: REPLY_ID, status: "running" })],
    });
    const frame: LiveFrame = {
      type: "message:done",
      liveSeq: 1,
      taskId: TASK_ID,
      messageId: REPLY_ID,
      status: "completed",
      content: "Done.",
      stages: last,
    };
    const next = applyFrame(state, frame);
    expect(next.messages[TASK_ID]?.find((m) => m.id === REPLY_ID)?.stages).toEqual(last);
  });
});
