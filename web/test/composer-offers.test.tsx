// The composer's model picker and `/` completion read what the device's Claude Code offers:
// the claude-code entry of `device.runtimes` (models and commands learned from its sessions).
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Device } from "@wegent/protocol";
import { ChatPage } from "../src/components/ChatPage";
import { StoreProvider } from "../src/state/store";
import { device, installFakeSocket, mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const cloud = { online: true, slotsUsed: 0, maxSlots: 5, executors: 1 };

function renderChat(devices: Device[]) {
  mockFetch((_method, url) => {
    if (url === "/api/devices") return { body: { devices, cloud } };
    if (url.startsWith("/api/tasks?")) return { body: { tasks: [], nextCursor: null } };
    return undefined;
  });
  installFakeSocket();
  render(
    <StoreProvider onSignedOut={() => {}}>
      <ChatPage taskId={null} />
    </StoreProvider>,
  );
}

const claudeCode = {
  id: "claude-code" as const,
  version: "2.0.0",
  auth: { kind: "login" as const, label: "Claude Code login (Max)" },
  models: [
    { value: "sonnet", displayName: "Sonnet", description: "Everyday" },
    { value: "opus", displayName: "Opus", description: "Hardest tasks" },
  ],
  commands: [
    { name: "foo", description: "Foo the bar", argumentHint: "<file>" },
    { name: "review", description: "Review the changes", argumentHint: "" },
  ],
  problem: null,
};

describe("what the device's Claude Code offers, in the composer", () => {
  it("offers its models in a picker and completes its commands after /", async () => {
    renderChat([device({ id: "device-a", isDefault: true, runtimes: [claudeCode] })]);
    const picker = await screen.findByTestId("model-select");
    const values = within(picker)
      .getAllByRole("option")
      .map((o) => (o as HTMLOptionElement).value);
    expect(values).toEqual(["", "sonnet", "opus"]);

    fireEvent.change(screen.getByTestId("composer"), { target: { value: "/fo" } });
    const list = await screen.findByTestId("command-completions");
    expect(list.textContent).toContain("/foo <file>");
    expect(list.textContent).toContain("Foo the bar");
    expect(list.textContent).not.toContain("/review");
    fireEvent.click(within(list).getByRole("button"));
    expect((screen.getByTestId("composer") as HTMLTextAreaElement).value).toBe("/foo ");
  });

  it("shows no picker and no completion before the device has reported any", async () => {
    renderChat([
      device({
        id: "device-a",
        isDefault: true,
        runtimes: [{ ...claudeCode, models: [], commands: [] }],
      }),
    ]);
    await screen.findByTestId("target-option-device-a");
    fireEvent.change(screen.getByTestId("composer"), { target: { value: "/fo" } });
    expect(screen.queryByTestId("model-select")).toBeNull();
    expect(screen.queryByTestId("command-completions")).toBeNull();
  });
});
