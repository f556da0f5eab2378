import { act, cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CloseCode, type LiveFrame, type ProgressEvent } from "@wegent/protocol";
import { ChatPage } from "../src/components/ChatPage";
import { LiveConnection } from "../src/live/connection";
import { applyFrame, initialState, reducer, type AppState } from "../src/state/reducer";
import { thinkingOf, toolsOf } from "../src/state/messages";
import { StoreProvider } from "../src/state/store";
import {
  device,
  FakeSocket,
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
  vi.useRealTimers();
});

let liveSeq = 0;
function delta(seq: number, event: ProgressEvent): LiveFrame {
  liveSeq += 1;
  return { type: "message:delta", liveSeq, taskId: TASK_ID, messageId: REPLY_ID, seq, event };
}
const text = (offset: number, value: string): ProgressEvent => ({
  kind: "text",
  offset,
  delta: value,
});

function withConversation(content = ""): AppState {
  return reducer(initialState, {
    type: "messages:loaded",
    task: task(),
    messages: [
      message({ id: USER_MSG_ID, role: "user", content: "hi", status: "completed" }),
      message({ id: REPLY_ID, content }),
    ],
  });
}
const reply = (state: AppState) => state.messages[TASK_ID]?.find((m) => m.id === REPLY_ID);

describe("applying live frames", () => {
  it("applies a batch of deltas in one frame, and a replayed overlapping batch changes nothing", () => {
    let state = withConversation();
    const batch = (from: number, events: ProgressEvent[]): LiveFrame => {
      liveSeq += events.length;
      return {
        type: "message:deltas",
        liveSeq,
        taskId: TASK_ID,
        messageId: REPLY_ID,
        events: events.map((event, i) => ({ seq: from + i, event })),
      };
    };
    state = applyFrame(state, batch(1, [text(0, "Hel"), text(3, "lo ")]));
    state = applyFrame(state, batch(3, [text(6, "wor"), text(9, "ld")]));
    expect(reply(state)?.content).toBe("Hello world");
    expect(reply(state)?.lastSeq).toBe(4);
    const again = applyFrame(state, batch(2, [text(3, "lo "), text(6, "wor")]));
    expect(again).toBe(state);
  });

  it("applies deltas in order", () => {
    let state = withConversation();
    for (const frame of [
      delta(1, text(0, "Hel")),
      delta(2, text(3, "lo ")),
      delta(3, text(6, "world")),
    ]) {
      state = applyFrame(state, frame);
    }
    expect(reply(state)?.content).toBe("Hello world");
    expect(reply(state)?.lastSeq).toBe(3);
  });

  it("ignores a delta it has already applied, text or not", () => {
    let state = withConversation();
    const frames = [
      delta(1, text(0, "ab")),
      delta(2, { kind: "thinking", delta: "hmm" }),
      delta(3, { kind: "tool_use", toolUseId: "t1", name: "Bash", input: { command: "ls" } }),
      delta(4, text(2, "cd")),
    ];
    for (const frame of frames) state = applyFrame(state, frame);
    const once = reply(state);
    // A reconnect replays everything: nothing may change.
    for (const frame of frames) state = applyFrame(state, frame);
    expect(reply(state)).toBe(once);
    expect(reply(state)?.content).toBe("abcd");
    expect(thinkingOf(reply(state)!.blocks)).toBe("hmm");
    expect(toolsOf(reply(state)!.blocks)).toHaveLength(1);
    // The blocks are in the order they streamed: what a reload shows from the stored transcript.
    expect(reply(state)?.blocks.map((b) => b.type)).toEqual([
      "text",
      "thinking",
      "tool_use",
      "text",
    ]);
  });

  it("never truncates text it already has when an older delta arrives after a refetch", () => {
    let state = withConversation("Hello world");
    state = applyFrame(state, delta(1, text(0, "Hel")));
    expect(reply(state)?.content).toBe("Hello world");
    state = applyFrame(state, delta(2, text(11, "!")));
    expect(reply(state)?.content).toBe("Hello world!");
  });

  it("marks a gap in the text stale instead of showing it in the wrong place", () => {
    let state = withConversation("abc");
    state = applyFrame(state, delta(1, text(10, "xyz")));
    expect(reply(state)?.content).toBe("abc");
    expect(reply(state)?.stale).toBe(true);
  });

  it("replaces the content with the final text when the message is done", () => {
    let state = withConversation();
    state = applyFrame(state, delta(1, text(0, "draft tex")));
    state = applyFrame(state, {
      type: "message:done",
      liveSeq: 99,
      taskId: TASK_ID,
      messageId: REPLY_ID,
      status: "completed",
      content: "Final answer.",
    });
    expect(reply(state)?.content).toBe("Final answer.");
    expect(reply(state)?.status).toBe("completed");
    expect(state.tasks[0]?.status).toBe("completed");
    // A late replay of a delta after the end changes nothing.
    state = applyFrame(state, delta(2, text(9, "t")));
    expect(reply(state)?.content).toBe("Final answer.");
  });

  it("carries the queue position and the failure reason from task:status", () => {
    let state = withConversation();
    state = applyFrame(state, {
      type: "task:status",
      liveSeq: 5,
      taskId: TASK_ID,
      messageId: REPLY_ID,
      status: "queued",
      queuePosition: 2,
      errorCode: null,
      errorMessage: null,
    });
    expect(reply(state)?.queuePosition).toBe(2);
    state = applyFrame(state, {
      type: "task:status",
      liveSeq: 6,
      taskId: TASK_ID,
      messageId: REPLY_ID,
      status: "failed",
      queuePosition: null,
      errorCode: "device_disconnected",
      errorMessage: "The device disconnected.",
    });
    expect(reply(state)?.status).toBe("failed");
    expect(reply(state)?.errorMessage).toBe("The device disconnected.");
  });
});

describe("frames that outrun the answer to a send", () => {
  const failed: LiveFrame = {
    type: "task:status",
    liveSeq: 7,
    taskId: TASK_ID,
    messageId: REPLY_ID,
    status: "failed",
    queuePosition: null,
    errorCode: "credentials_missing",
    errorMessage: "No model credentials on this device.",
  };

  it("are kept and applied when the message arrives, and a late running does not revive it", () => {
    let state = applyFrame(initialState, delta(1, text(0, "partial")));
    state = applyFrame(state, failed);
    expect(state.messages[TASK_ID]).toBeUndefined();
    // The POST answer, written before the device failed, still says "running".
    state = withConversationFrom(state);
    expect(reply(state)?.status).toBe("failed");
    expect(reply(state)?.errorMessage).toBe("No model credentials on this device.");
    expect(state.orphans).toHaveLength(0);
    state = applyFrame(state, { ...failed, liveSeq: 8, status: "running", errorCode: null });
    expect(reply(state)?.status).toBe("failed");
  });
});

function withConversationFrom(state: AppState): AppState {
  return reducer(state, {
    type: "messages:loaded",
    task: task(),
    messages: [
      message({ id: USER_MSG_ID, role: "user", content: "hi", status: "completed" }),
      message({ id: REPLY_ID, content: "" }),
    ],
  });
}

describe("the conversation on screen", () => {
  it("streams a reply, ignores duplicates, ignores malformed frames and shows the final text", async () => {
    mockFetch((method, url) => {
      if (url === "/api/devices") {
        return {
          body: {
            devices: [device({ id: "device-aaaa" })],
            cloud: { online: false, slotsUsed: 0, maxSlots: 0, executors: 0 },
          },
        };
      }
      if (url.startsWith("/api/tasks?")) return { body: { tasks: [task()], nextCursor: null } };
      if (url === `/api/tasks/${TASK_ID}`) {
        return {
          body: {
            task: task(),
            messages: [
              message({ id: USER_MSG_ID, role: "user", content: "Say hi", status: "completed" }),
              message({ id: REPLY_ID }),
            ],
          },
        };
      }
      return undefined;
    });
    installFakeSocket();
    render(
      <StoreProvider onSignedOut={() => {}}>
        <ChatPage taskId={TASK_ID} />
      </StoreProvider>,
    );
    await screen.findByTestId("assistant-message");
    expect(screen.getByTestId("stop-button")).toBeTruthy();
    expect(screen.getByTestId("thinking-indicator")).toBeTruthy();

    const socket = FakeSocket.latest();
    act(() => {
      socket.open();
      socket.push({ type: "live:hello", liveSeq: 10, reset: false });
      socket.push(delta(1, text(0, "Hello, ")));
      socket.push(delta(1, text(0, "Hello, ")));
      socket.push("{not json");
      socket.push(JSON.stringify({ type: "message:delta", liveSeq: 1 }));
      socket.push(delta(2, text(7, "**world**")));
    });
    const content = screen.getByTestId("assistant-content");
    expect(content.textContent).toBe("Hello, world\n");
    expect(content.querySelector("strong")?.textContent).toBe("world");

    act(() => {
      socket.push({
        type: "message:done",
        liveSeq: 50,
        taskId: TASK_ID,
        messageId: REPLY_ID,
        status: "completed",
        content: "Hello, everyone.",
      });
    });
    expect(screen.getByTestId("assistant-content").textContent).toBe("Hello, everyone.\n");
    expect(screen.queryByTestId("stop-button")).toBeNull();
    expect(screen.queryByTestId("thinking-indicator")).toBeNull();
  });

  it("shows agent HTML as text, never as markup", async () => {
    let state = withConversation();
    state = applyFrame(
      state,
      delta(1, text(0, '<img src=x onerror="alert(1)"> [x](javascript:alert(1))')),
    );
    const { renderMarkdown } = await import("../src/lib/markdown");
    const html = renderMarkdown(reply(state)?.content ?? "");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("javascript:");
    expect(html).toContain("&lt;img");
  });
});

describe("LiveConnection", () => {
  it("reconnects with the highest liveSeq it saw, after a backoff, pings, and stops on unauthorized", async () => {
    vi.useFakeTimers();
    FakeSocket.instances = [];
    const sockets = FakeSocket.instances;
    const frames: LiveFrame[] = [];
    const resyncs: number[] = [];
    let unauthorized = 0;
    const connection = new LiveConnection(
      "https://wegent.example",
      {
        onFrame: (frame) => frames.push(frame),
        onResync: () => resyncs.push(Date.now()),
        onOpenChange: () => {},
        onUnauthorized: () => unauthorized++,
      },
      { WebSocket: FakeSocket as unknown as typeof WebSocket, random: () => 0.5 },
    );
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets[0]?.url).toBe("wss://wegent.example/api/live");
    sockets[0]?.open();
    sockets[0]?.push({ type: "live:hello", liveSeq: 4, reset: false });
    expect(resyncs).toHaveLength(1);
    sockets[0]?.push(delta(1, text(0, "a")));
    const seen = liveSeq;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sockets[0]?.sent).toEqual(["ping"]);

    sockets[0]?.close(1006);
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(1);
    // 500 ms × (1 + 0.5) of jitter for the first retry.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets[1]?.url).toBe(`wss://wegent.example/api/live?after=${seen}`);
    sockets[1]?.open();
    sockets[1]?.push({ type: "live:hello", liveSeq: seen, reset: false });
    expect(resyncs).toHaveLength(1);
    sockets[1]?.push({ type: "live:hello", liveSeq: 2, reset: true });
    expect(resyncs).toHaveLength(2);
    expect(frames).toHaveLength(1);

    sockets[1]?.close(CloseCode.unauthorized);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(unauthorized).toBe(1);
    expect(sockets).toHaveLength(2);
    connection.stop();
    vi.useRealTimers();
  });
});
