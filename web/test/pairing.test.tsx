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

  it("pre-fills the form and approves with POST /api/pairings", async () => {
    const calls = mockFetch((method, url) => {
      if (method === "POST" && url === "/api/pairings") {
        return { body: { deviceId: "device-12345678", name: "Alice's laptop" } };
      }
      return undefined;
    });
    render(<PairingForm initialCode="ABCD-EFGH" />);
    expect((screen.getByTestId("pair-code") as HTMLInputElement).value).toBe("ABCD-EFGH");
    fireEvent.click(screen.getByTestId("pair-approve"));
    const result = await screen.findByTestId("pair-result");
    expect(result.textContent).toContain("Alice's laptop");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ code: "ABCD-EFGH" });
  });

  it("shows the server's words when the code is expired", async () => {
    mockFetch((method, url) =>
      method === "POST" && url === "/api/pairings"
        ? {
            status: 410,
            body: { error: { code: "pairing_expired", message: "This pairing code expired." } },
          }
        : undefined,
    );
    render(<PairingForm initialCode="ABCD-EFGH" />);
    fireEvent.click(screen.getByTestId("pair-approve"));
    expect((await screen.findByTestId("pair-error")).textContent).toContain("expired");
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
