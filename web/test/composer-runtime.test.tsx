// The composer's agent picker: offered for a new task on a device that runs more than one
// runtime; the pick goes with POST /api/tasks as `runtime`. The task header shows the runtime.
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Device, DeviceRuntime } from "@wegent/protocol";
import { ChatPage } from "../src/components/ChatPage";
import { StoreProvider } from "../src/state/store";
import { device, installFakeSocket, message, mockFetch, task } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const cloud = { online: true, slotsUsed: 0, maxSlots: 5, executors: 1 };
const runtime = (id: DeviceRuntime["id"]): DeviceRuntime => ({
  id,
  version: "1.0.0",
  auth: { kind: "login", label: "signed in" },
  models: [],
  commands: [],
  problem: null,
});

function renderChat(
  devices: Device[],
  taskId: string | null = null,
  defaultRuntime: DeviceRuntime["id"] = "claude-code",
) {
  const created = task({ id: "11111111-1111-4111-8111-111111111111", runtime: "codex" });
  const calls = mockFetch((method, url) => {
    if (url === "/api/devices") return { body: { devices, cloud } };
    if (url === "/api/settings" && method === "GET") {
      return { body: { settings: { defaultPermissionMode: "default", defaultRuntime } } };
    }
    if (url.startsWith("/api/tasks?")) return { body: { tasks: [created], nextCursor: null } };
    if (method === "POST" && url === "/api/tasks") {
      return { status: 201, body: { task: created, messages: [], pendingInput: [] } };
    }
    if (url === `/api/tasks/${created.id}`) {
      return {
        body: {
          task: created,
          messages: [message({ id: "22222222-2222-4222-8222-222222222222", role: "user" })],
          pendingInput: [],
        },
      };
    }
    return undefined;
  });
  installFakeSocket();
  render(
    <StoreProvider onSignedOut={() => {}}>
      <ChatPage taskId={taskId} />
    </StoreProvider>,
  );
  return { calls, created };
}

describe("the agent runtime in the composer and the task header", () => {
  it("offers the device's runtimes and sends the pick with the new task", async () => {
    const { calls } = renderChat([
      device({
        id: "device-a",
        isDefault: true,
        runtimes: [runtime("claude-code"), runtime("codex")],
      }),
    ]);
    const picker = await screen.findByTestId("runtime-select");
    const values = within(picker)
      .getAllByRole("option")
      .map((o) => (o as HTMLOptionElement).value);
    expect(values).toEqual(["", "claude-code", "codex"]);
    fireEvent.change(picker, { target: { value: "codex" } });
    fireEvent.change(screen.getByTestId("composer"), { target: { value: "Hello Codex" } });
    fireEvent.submit(screen.getByTestId("composer").closest("form")!);
    await vi.waitFor(() =>
      expect(calls.find((c) => c.method === "POST" && c.url === "/api/tasks")?.body).toMatchObject({
        message: "Hello Codex",
        runtime: "codex",
      }),
    );
  });

  it("offers the picked agent's own models", async () => {
    const model = (value: string) => ({ value, displayName: value, description: "" });
    renderChat([
      device({
        id: "device-a",
        isDefault: true,
        runtimes: [
          { ...runtime("claude-code"), models: [model("sonnet")] },
          { ...runtime("codex"), models: [model("gpt-6.2-sol")] },
        ],
      }),
    ]);
    const options = () =>
      within(screen.getByTestId("model-select"))
        .getAllByRole("option")
        .map((o) => (o as HTMLOptionElement).value);
    const picker = await screen.findByTestId("runtime-select");
    expect(options()).toEqual(["", "sonnet"]);
    fireEvent.change(picker, { target: { value: "codex" } });
    expect(options()).toEqual(["", "gpt-6.2-sol"]);
  });

  it("offers the default agent's models when none is picked (Settings: Codex)", async () => {
    const model = (value: string) => ({ value, displayName: value, description: "" });
    const { calls } = renderChat(
      [
        device({
          id: "device-a",
          isDefault: true,
          runtimes: [
            { ...runtime("claude-code"), models: [model("sonnet")] },
            { ...runtime("codex"), models: [model("gpt-6.2-sol"), model("gpt-6.2-mini")] },
          ],
        }),
      ],
      null,
      "codex",
    );
    const options = () =>
      within(screen.getByTestId("model-select"))
        .getAllByRole("option")
        .map((o) => (o as HTMLOptionElement).value);
    expect(((await screen.findByTestId("runtime-select")) as HTMLSelectElement).value).toBe("");
    await vi.waitFor(() => expect(options()).toEqual(["", "gpt-6.2-sol", "gpt-6.2-mini"]));
    // Picking Claude Code names it; back to "my default" is Codex's list again.
    fireEvent.change(screen.getByTestId("runtime-select"), { target: { value: "claude-code" } });
    expect(options()).toEqual(["", "sonnet"]);
    fireEvent.change(screen.getByTestId("runtime-select"), { target: { value: "" } });
    expect(options()).toEqual(["", "gpt-6.2-sol", "gpt-6.2-mini"]);
    // A Codex model goes with the message, which names no runtime (the Worker takes the default).
    fireEvent.change(screen.getByTestId("model-select"), { target: { value: "gpt-6.2-mini" } });
    fireEvent.change(screen.getByTestId("composer"), { target: { value: "Hello" } });
    fireEvent.submit(screen.getByTestId("composer").closest("form")!);
    await vi.waitFor(() =>
      expect(calls.find((c) => c.method === "POST" && c.url === "/api/tasks")?.body).toMatchObject({
        message: "Hello",
        model: "gpt-6.2-mini",
      }),
    );
    const sent = calls.find((c) => c.method === "POST" && c.url === "/api/tasks")?.body;
    expect(sent).not.toHaveProperty("runtime");
  });

  it("a device with Codex only still shows Codex's models when it is the default", async () => {
    const model = (value: string) => ({ value, displayName: value, description: "" });
    renderChat(
      [
        device({
          id: "device-a",
          isDefault: true,
          runtimes: [{ ...runtime("codex"), models: [model("gpt-6.2-sol")] }],
        }),
      ],
      null,
      "codex",
    );
    const select = await screen.findByTestId("model-select");
    expect(
      within(select)
        .getAllByRole("option")
        .map((o) => (o as HTMLOptionElement).value),
    ).toEqual(["", "gpt-6.2-sol"]);
  });

  it("offers no picker on a device with one runtime", async () => {
    renderChat([device({ id: "device-a", isDefault: true, runtimes: [runtime("claude-code")] })]);
    await screen.findByTestId("target-option-device-a");
    expect(screen.queryByTestId("runtime-select")).toBeNull();
  });

  it("shows the task's runtime in its header", async () => {
    const { created } = renderChat(
      [device({ id: "device-aaaa", isDefault: true, runtimes: [runtime("codex")] })],
      "11111111-1111-4111-8111-111111111111",
    );
    expect(created.runtime).toBe("codex");
    expect((await screen.findByTestId("task-runtime")).textContent).toBe("Codex");
  });
});

describe("the default agent in Settings", () => {
  it("shows the user's default and saves another with the permission mode kept", async () => {
    const { SettingsPage } = await import("../src/components/SettingsPage");
    const settings = { defaultPermissionMode: "default", defaultRuntime: "claude-code" };
    const calls = mockFetch((method, url, body) => {
      if (url === "/api/settings" && method === "GET") return { body: { settings } };
      if (url === "/api/settings" && method === "PUT") return { body: { settings: body } };
      return undefined;
    });
    render(<SettingsPage />);
    const select = (await screen.findByTestId("default-runtime")) as HTMLSelectElement;
    await vi.waitFor(() => expect(select.value).toBe("claude-code"));
    fireEvent.change(select, { target: { value: "codex" } });
    await vi.waitFor(() =>
      expect(calls.find((c) => c.method === "PUT" && c.url === "/api/settings")?.body).toEqual({
        defaultPermissionMode: "default",
        defaultRuntime: "codex",
      }),
    );
    await vi.waitFor(() => expect(select.value).toBe("codex"));
  });
});
