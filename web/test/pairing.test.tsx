import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PairingForm } from "../src/components/PairingForm";
import { consumePairCode, takePairLink } from "../src/lib/route";
import { DevicesPage } from "../src/components/DevicesPage";
import { StoreProvider } from "../src/state/store";
import { device, installFakeSocket, mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("approving a pairing code", () => {
  it("takes the code from /devices?pair=…, clears it from the address bar, once", () => {
    const replaced: string[] = [];
    const location = { pathname: "/devices", search: "?pair=abcd-efgh" } as Location;
    const history = { replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) };
    takePairLink(location, history as unknown as History);
    expect(replaced).toEqual(["/#/devices"]);
    expect(consumePairCode()).toBe("ABCD-EFGH");
    expect(consumePairCode()).toBeNull();
  });

  const details = (existing: unknown = null) => ({
    code: "ABCD-EFGH",
    deviceId: "device-12345678",
    name: "Alice's laptop",
    platform: "darwin-arm64",
    version: "0.1.0",
    address: "203.0.113.9",
    expiresAt: "2030-01-01T00:10:00.000Z",
    existing,
  });

  it("shows the device before the click, then approves with POST /api/pairings", async () => {
    const calls = mockFetch((method, url) => {
      if (method === "GET" && url === "/api/pairings/code/ABCDEFGH") return { body: details() };
      if (method === "POST" && url === "/api/pairings") {
        return { body: { deviceId: "device-12345678", name: "Alice's laptop" } };
      }
      return undefined;
    });
    render(<PairingForm initialCode="ABCD-EFGH" />);
    expect((screen.getByTestId("pair-code") as HTMLInputElement).value).toBe("ABCD-EFGH");
    const shown = await screen.findByTestId("pair-details");
    expect(screen.getByTestId("pair-device-name").textContent).toBe("Alice's laptop");
    expect(screen.getByTestId("pair-device-platform").textContent).toBe("darwin-arm64");
    expect(screen.getByTestId("pair-device-version").textContent).toBe("0.1.0");
    expect(screen.getByTestId("pair-device-address").textContent).toBe("203.0.113.9");
    expect(shown.textContent).toContain("device-12345678");
    expect(screen.queryByTestId("pair-replace")).toBeNull();
    fireEvent.click(screen.getByTestId("pair-approve"));
    const result = await screen.findByTestId("pair-result");
    expect(result.textContent).toContain("Alice's laptop");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ code: "ABCD-EFGH" });
  });

  it("cannot approve before the device is shown", () => {
    mockFetch(() => undefined);
    render(<PairingForm initialCode="ABCD-EFGH" />);
    expect((screen.getByTestId("pair-approve") as HTMLButtonElement).disabled).toBe(true);
  });

  it("replacing an offline device of yours needs the explicit 'Replace …, last seen …' tick", async () => {
    const calls = mockFetch((method, url) => {
      if (method === "GET" && url === "/api/pairings/code/ABCDEFGH") {
        return {
          body: details({
            name: "Work laptop",
            status: "offline",
            lastSeenAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
          }),
        };
      }
      if (method === "POST" && url === "/api/pairings") {
        return { body: { deviceId: "device-12345678", name: "Alice's laptop" } };
      }
      return undefined;
    });
    render(<PairingForm initialCode="ABCD-EFGH" />);
    const replace = await screen.findByTestId("pair-replace");
    expect(replace.textContent).toContain("Replace “Work laptop”, last seen 3 days ago");
    const approve = screen.getByTestId("pair-approve") as HTMLButtonElement;
    expect(approve.disabled).toBe(true);
    fireEvent.click(screen.getByTestId("pair-replace-confirm"));
    expect(approve.disabled).toBe(false);
    fireEvent.click(approve);
    await screen.findByTestId("pair-result");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      code: "ABCD-EFGH",
      replaceDevice: true,
    });
  });

  it("never offers to approve a code naming one of your connected devices", async () => {
    const calls = mockFetch((method, url) =>
      method === "GET" && url === "/api/pairings/code/ABCDEFGH"
        ? {
            body: details({
              name: "Work laptop",
              status: "online",
              lastSeenAt: new Date().toISOString(),
            }),
          }
        : undefined,
    );
    render(<PairingForm initialCode="ABCD-EFGH" />);
    expect((await screen.findByTestId("pair-online")).textContent).toContain(
      "“Work laptop”, which is connected right now",
    );
    expect(screen.queryByTestId("pair-replace")).toBeNull();
    const approve = screen.getByTestId("pair-approve") as HTMLButtonElement;
    expect(approve.disabled).toBe(true);
    fireEvent.click(approve);
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
  });

  it("shows the server's words when the code is expired", async () => {
    mockFetch((method, url) =>
      method === "GET" && url === "/api/pairings/code/ABCDEFGH"
        ? {
            status: 410,
            body: { error: { code: "pairing_expired", message: "This pairing code expired." } },
          }
        : undefined,
    );
    render(<PairingForm initialCode="ABCD-EFGH" />);
    expect((await screen.findByTestId("pair-error")).textContent).toContain("expired");
    expect((screen.getByTestId("pair-approve") as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("a device whose credential was reused", () => {
  it("shows 'Credential reuse detected' on its card", async () => {
    mockFetch((method, url) => {
      if (method === "GET" && url === "/api/devices") {
        return {
          body: {
            devices: [
              device({
                id: "device-stolen-01",
                status: "offline",
                securityEvent: { kind: "credential_reuse", at: "2030-01-01T00:00:00.000Z" },
              }),
              device({ id: "device-fine-0001" }),
            ],
            cloud: { online: false, executors: 0, slotsUsed: 0, maxSlots: 0 },
          },
        };
      }
      if (method === "GET" && url.startsWith("/api/tasks")) {
        return { body: { tasks: [], nextCursor: null } };
      }
      return undefined;
    });
    installFakeSocket();
    render(
      <StoreProvider onSignedOut={() => {}}>
        <DevicesPage />
      </StoreProvider>,
    );
    const notice = await screen.findByTestId("device-security-event");
    expect(notice.textContent).toContain("Credential reuse detected");
    expect(notice.closest('[data-testid="device-device-stolen-01"]')).not.toBeNull();
    expect(screen.getAllByTestId("device-security-event")).toHaveLength(1);
  });
});
