// The task page in jsdom: the permission mode of the latest message stays picked, the header
// folds its extras behind More, and the notification offer waits for a reason.
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChatPage } from "../src/components/ChatPage";
import { StoreProvider } from "../src/state/store";
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

function open(status: "completed" | "running") {
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
      return { body: { tasks: [task({ status })], nextCursor: null } };
    if (url === `/api/tasks/${TASK_ID}`) {
      return {
        body: {
          task: task({ status }),
          messages: [
            message({ id: USER_MSG_ID, role: "user", content: "Plan it", status: "completed" }),
            message({ id: REPLY_ID, status, content: "Planned.", permissionMode: "plan" }),
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

describe("the task page", () => {
  it("keeps the permission mode the latest message ran with until another is picked", async () => {
    open("completed");
    await screen.findByTestId("assistant-message");
    const picker = screen.getByTestId("permission-mode") as HTMLSelectElement;
    expect(picker.value).toBe("plan");
    fireEvent.change(picker, { target: { value: "acceptEdits" } });
    expect(picker.value).toBe("acceptEdits");
  });

  it("while the agent works, shows the running reply's mode and does not offer another", async () => {
    open("running");
    await screen.findByTestId("assistant-message");
    const picker = screen.getByTestId("permission-mode") as HTMLSelectElement;
    expect(picker.value).toBe("plan");
    expect(picker.disabled).toBe(true);
    expect(picker.title).toContain("running reply's mode");
  });

  it("folds export and delete behind More, and offers notifications only while an agent works", async () => {
    open("completed");
    await screen.findByTestId("assistant-message");
    const more = screen.getByTestId("task-more");
    expect(more.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(more);
    expect(more.getAttribute("aria-expanded")).toBe("true");
    expect(screen.getByTestId("export-md")).toBeTruthy();
    expect(screen.queryByTestId("notification-offer")).toBeNull();
    cleanup();
    open("running");
    await screen.findByTestId("assistant-message");
    expect(await screen.findByTestId("notification-offer")).toBeTruthy();
  });
});
