// "On this device" with a Codex thread beside a Claude Code session: both can be read (the
// preview loads its transcript from the device) and continued (the composer then continues it).
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LocalSession } from "@wegent/protocol";
import { LocalSessions } from "../src/components/LocalSessions";
import { StoreProvider, useStore } from "../src/state/store";
import { device, installFakeSocket, mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const project = {
  id: "p_aaaaaaaaaaaa",
  name: "shop",
  path: "/home/me/shop",
  git: true,
  branch: "main",
  dirty: false,
};
const thread: LocalSession = {
  id: "0199a0b1-0000-7000-8000-000000000001",
  projectId: project.id,
  title: "Remember the word tangerine",
  updatedAt: new Date().toISOString(),
  messageCount: 0,
  runtime: "codex",
};

function Continuing() {
  const { continuing } = useStore();
  return <p data-testid="continuing">{continuing?.sessionId ?? "none"}</p>;
}

describe("On this device", () => {
  it("reads and continues a Codex thread", async () => {
    const laptop = device({ id: "device-a", projects: [project] });
    mockFetch((_method, url) => {
      if (url === "/api/devices") {
        return {
          body: {
            devices: [laptop],
            cloud: { online: false, slotsUsed: 0, maxSlots: 5, executors: 0 },
          },
        };
      }
      if (url === "/api/devices/device-a/sessions") return { body: { sessions: [thread] } };
      if (url === `/api/devices/device-a/sessions/${thread.id}`) {
        return {
          body: {
            session: thread,
            messages: [
              { role: "user", text: "Remember the word tangerine", at: null },
              { role: "assistant", text: "Echo: Remember the word tangerine", at: null },
            ],
            truncated: false,
          },
        };
      }
      return undefined;
    });
    installFakeSocket();
    render(
      <StoreProvider onSignedOut={() => {}}>
        <LocalSessions />
        <Continuing />
      </StoreProvider>,
    );
    const row = await screen.findByTestId(`local-session-${thread.id}`);
    expect(within(row).getByTestId(`local-session-meta-${thread.id}`).textContent).toContain(
      "Codex",
    );
    fireEvent.click(within(row).getByTestId(`preview-${thread.id}`));
    const entries = await within(row).findAllByTestId("earlier-entry");
    expect(entries.map((e) => e.textContent)).toEqual([
      expect.stringContaining("Remember the word tangerine"),
      expect.stringContaining("Echo: Remember the word tangerine"),
    ]);
    fireEvent.click(within(row).getByTestId(`continue-${thread.id}`));
    expect(screen.getByTestId("continuing").textContent).toBe(thread.id);
  });

  it("shows a Codex reply's command with its output and file change with its diff, and its count", async () => {
    const counted = { ...thread, messageCount: 2 };
    const uncounted = { ...thread, id: "0199a0b1-0000-7000-8000-000000000002", messageCount: null };
    const laptop = device({ id: "device-a", projects: [project] });
    mockFetch((_method, url) => {
      if (url === "/api/devices") {
        return {
          body: {
            devices: [laptop],
            cloud: { online: false, slotsUsed: 0, maxSlots: 5, executors: 0 },
          },
        };
      }
      if (url === "/api/devices/device-a/sessions") {
        return { body: { sessions: [counted, uncounted] } };
      }
      if (url === `/api/devices/device-a/sessions/${counted.id}`) {
        const text = "Tool said: hello-from-shell";
        return {
          body: {
            session: counted,
            messages: [
              { role: "user", text: "run: echo hello-from-shell", at: null },
              {
                role: "assistant",
                text,
                at: null,
                blocks: [
                  {
                    type: "tool_use",
                    toolUseId: "call_1",
                    name: "Bash",
                    input: { command: "/bin/bash -lc 'echo hello-from-shell'" },
                  },
                  {
                    type: "tool_result",
                    toolUseId: "call_1",
                    summary: "hello-from-shell\n",
                    isError: false,
                  },
                  {
                    type: "tool_use",
                    toolUseId: "call_2",
                    name: "apply_patch",
                    input: {
                      changes: [
                        { path: "/home/me/shop/notes.txt", kind: "add", diff: "first line\n" },
                      ],
                    },
                  },
                  {
                    type: "tool_result",
                    toolUseId: "call_2",
                    summary: "Changed:\n/home/me/shop/notes.txt",
                    isError: false,
                  },
                  { type: "text", text },
                ],
              },
            ],
            truncated: false,
          },
        };
      }
      return undefined;
    });
    installFakeSocket();
    render(
      <StoreProvider onSignedOut={() => {}}>
        <LocalSessions />
      </StoreProvider>,
    );
    const row = await screen.findByTestId(`local-session-${counted.id}`);
    expect(within(row).getByTestId(`local-session-meta-${counted.id}`).textContent).toMatch(
      /^Codex · 2 messages · /,
    );
    // No count known: none shown (never "0 messages").
    const meta = screen.getByTestId(`local-session-meta-${uncounted.id}`).textContent ?? "";
    expect(meta).toMatch(/^Codex · /);
    expect(meta).not.toContain("message");

    fireEvent.click(within(row).getByTestId(`preview-${counted.id}`));
    const entries = await within(row).findAllByTestId("earlier-entry");
    expect(entries[1]?.textContent).toContain("Codex");
    const tools = within(entries[1]!).getAllByTestId("tool-use");
    expect(tools.map((t) => t.getAttribute("data-tool"))).toEqual(["Bash", "apply_patch"]);
    expect(tools.map((t) => t.getAttribute("data-state"))).toEqual(["done", "done"]);
    expect(within(tools[0]!).getByTestId("tool-output").textContent).toContain("hello-from-shell");
    expect(within(tools[1]!).getByTestId("tool-diff").textContent).toContain("first line");
    expect(entries[1]?.textContent).toContain("Tool said: hello-from-shell");
  });
});
