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
});
