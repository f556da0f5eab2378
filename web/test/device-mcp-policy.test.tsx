import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DevicesPage } from "../src/components/DevicesPage";
import { StoreProvider } from "../src/state/store";
import { device, installFakeSocket, mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("what a device lets managed MCP servers do", () => {
  it("shows the device's device-config.json policy and what it skipped", async () => {
    const base = device({ id: "device-asking-01" });
    mockFetch((method, url) => {
      if (method === "GET" && url === "/api/devices") {
        return {
          body: {
            devices: [
              {
                ...base,
                capabilities: {
                  ...base.capabilities,
                  policy: {
                    permissionMode: "default",
                    stdio: false,
                    env: ["GITHUB_TOKEN"],
                    skipped: ["wegent-runner not started: …"],
                  },
                },
              },
              device({ id: "device-older-001" }),
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
    const policy = await screen.findByTestId("device-mcp-policy");
    expect(policy.dataset.stdio).toBe("blocked");
    expect(policy.textContent).toContain("--permission-mode default");
    expect(policy.textContent).toContain("managedMcp.allowStdio");
    expect(policy.textContent).toContain("GITHUB_TOKEN");
    expect(screen.getByTestId("device-mcp-skipped").textContent).toContain("wegent-runner");
    expect(policy.closest('[data-testid="device-device-asking-01"]')).not.toBeNull();
    // An executor that never reported a policy shows none.
    expect(screen.getAllByTestId("device-mcp-policy")).toHaveLength(1);
  });
});
