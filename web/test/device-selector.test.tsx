import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { availabilityText, type Device } from "@wegent/protocol";
import { DeviceSelector } from "../src/components/DeviceSelector";
import { ChatPage } from "../src/components/ChatPage";
import { StoreProvider } from "../src/state/store";
import { device, FakeSocket, installFakeSocket, mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const cloud = { online: true, slotsUsed: 1, maxSlots: 5, executors: 1 };

function option(testId: string): HTMLOptionElement {
  const element = screen.getByTestId(testId);
  if (!(element instanceof HTMLOptionElement)) throw new Error(`${testId} is not an option`);
  return element;
}

describe("DeviceSelector", () => {
  const devices: Device[] = [
    device({ id: "device-online", name: "Studio", isDefault: true }),
    device({ id: "device-busy", name: "Laptop", status: "busy", slotsUsed: 5, queueLength: 2 }),
    device({ id: "device-offline", name: "Old box", status: "offline" }),
    device({ id: "device-recon", name: "Train", status: "reconnecting", slotsUsed: 1 }),
  ];

  it("greys out offline devices and does not let them be chosen", () => {
    const onChange = vi.fn();
    render(<DeviceSelector devices={devices} cloud={cloud} value="cloud" onChange={onChange} />);
    const offline = option("target-option-device-offline");
    expect(offline.disabled).toBe(true);
    expect(offline.textContent).toContain("offline");
    expect(option("target-option-device-online").disabled).toBe(false);
    expect(option("target-option-device-busy").disabled).toBe(false);

    fireEvent.change(screen.getByTestId("device-selector"), {
      target: { value: "device:device-offline" },
    });
    expect(onChange).not.toHaveBeenCalled();

    fireEvent.change(screen.getByTestId("device-selector"), {
      target: { value: "device:device-busy" },
    });
    expect(onChange).toHaveBeenCalledWith("device:device-busy");
  });

  it("shows busy with its slots and queue, reconnecting with its own marker, the default starred", () => {
    render(<DeviceSelector devices={devices} cloud={cloud} value="cloud" onChange={() => {}} />);
    const busy = option("target-option-device-busy").textContent ?? "";
    expect(busy).toContain("busy");
    expect(busy).toContain("5/5 slots");
    expect(busy).toContain("2 queued");
    const online = option("target-option-device-online").textContent ?? "";
    expect(online).toContain("online");
    expect(online).toContain("(default)");
    expect(busy).not.toContain("(default)");
    const reconnecting = option("target-option-device-recon").textContent ?? "";
    expect(reconnecting).toContain("reconnecting");
    expect(reconnecting).not.toContain("online");
    // Words, not emoji (a font may lack them).
    for (const id of ["online", "busy", "offline", "recon"]) {
      expect(option(`target-option-device-${id}`).textContent).not.toMatch(
        /\p{Extended_Pictographic}/u,
      );
    }
    expect(option("target-option-cloud").textContent).toContain("1/5 slots");
  });

  it("explains a busy choice: the message will queue", () => {
    render(
      <DeviceSelector
        devices={devices}
        cloud={cloud}
        value="device:device-busy"
        onChange={() => {}}
      />,
    );
    expect(screen.getByTestId("selection-note").textContent).toMatch(/busy \(5\/5 slots\).*queue/);
  });
});

describe("truthful states in the selector", () => {
  const runtime = {
    id: "claude-code" as const,
    version: "2.1.0",
    auth: { kind: "none" as const, label: "No model credentials" },
    models: [],
    commands: [],
    problem: { code: "credentials_missing", message: "Sign in to Claude Code on this computer." },
  };

  it("offers Cloud only when the pool can run a task, else disabled with the reason", () => {
    const refused = { ...cloud, problem: "Cloud cannot run tasks now: (no_credentials)." };
    const { rerender } = render(
      <DeviceSelector devices={[]} cloud={refused} value="cloud" onChange={() => {}} />,
    );
    expect(option("target-option-cloud").disabled).toBe(true);
    expect(option("target-option-cloud").textContent).toContain("not available");
    expect(screen.getByTestId("selection-note").textContent).toContain("no_credentials");
    rerender(
      <DeviceSelector
        devices={[]}
        cloud={{ ...cloud, problem: null }}
        value="cloud"
        onChange={() => {}}
      />,
    );
    expect(option("target-option-cloud").disabled).toBe(false);
  });

  it("says a connected device that cannot run needs attention, with the reason", () => {
    const broken = device({ id: "device-broken", name: "Studio", runtimes: [runtime] });
    render(
      <DeviceSelector
        devices={[broken]}
        cloud={cloud}
        value="device:device-broken"
        onChange={() => {}}
      />,
    );
    expect(option("target-option-device-broken").textContent).toContain("needs attention");
    expect(option("target-option-device-broken").textContent).not.toContain("online");
    expect(screen.getByTestId("selection-note").textContent).toContain(
      "Studio needs attention: Sign in to Claude Code on this computer.",
    );
  });

  it("words reconnecting and offline as the send error does (one helper)", () => {
    for (const status of ["reconnecting", "offline"] as const) {
      const d = device({ id: `device-${status}`, name: "Train", status });
      render(
        <DeviceSelector devices={[d]} cloud={cloud} value={`device:${d.id}`} onChange={() => {}} />,
      );
      expect(screen.getByTestId("selection-note").textContent?.trim()).toBe(
        availabilityText("Train", status),
      );
      cleanup();
    }
  });
});

describe("the selector in the chat", () => {
  function renderChat(initial: Device[]) {
    mockFetch((method, url) => {
      if (url === "/api/devices") return { body: { devices: initial, cloud } };
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

  function selectValue(): string {
    const select = screen.getByTestId("device-selector");
    if (!(select instanceof HTMLSelectElement)) throw new Error("not a select");
    return select.value;
  }

  it("starts on the default device when it is online", async () => {
    renderChat([device({ id: "device-a", isDefault: true }), device({ id: "device-b" })]);
    await screen.findByTestId("target-option-device-a");
    await vi.waitFor(() => expect(selectValue()).toBe("device:device-a"));
  });

  it("starts on Cloud when the default is offline, and stays there when it comes online", async () => {
    renderChat([device({ id: "device-a", isDefault: true, status: "offline" })]);
    await vi.waitFor(() => expect(selectValue()).toBe("cloud"));
    const socket = FakeSocket.latest();
    act(() => {
      socket.open();
      socket.push({ type: "live:hello", liveSeq: 1, reset: false });
      socket.push({
        type: "device:status",
        liveSeq: 2,
        device: device({ id: "device-a", isDefault: true, status: "online" }),
      });
    });
    expect(option("target-option-device-a").disabled).toBe(false);
    expect(selectValue()).toBe("cloud");
  });

  it("keeps the user's choice when devices change status, star or go offline", async () => {
    renderChat([device({ id: "device-a", isDefault: true }), device({ id: "device-b" })]);
    await vi.waitFor(() => expect(selectValue()).toBe("device:device-a"));
    fireEvent.change(screen.getByTestId("device-selector"), {
      target: { value: "device:device-b" },
    });
    expect(selectValue()).toBe("device:device-b");

    const socket = FakeSocket.latest();
    act(() => {
      socket.open();
      socket.push({ type: "live:hello", liveSeq: 1, reset: false });
      socket.push({
        type: "device:status",
        liveSeq: 2,
        device: device({ id: "device-a", isDefault: true, status: "busy", slotsUsed: 5 }),
      });
      socket.push({
        type: "device:status",
        liveSeq: 3,
        device: device({ id: "device-b", status: "offline" }),
      });
      socket.push({ type: "device:status", liveSeq: 4, device: device({ id: "device-c" }) });
    });
    expect(selectValue()).toBe("device:device-b");
    expect(option("target-option-device-b").disabled).toBe(true);
    expect(within(screen.getByTestId("selection-note")).getByText(/offline/)).toBeTruthy();
  });
});
