import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiToken } from "@wegent/protocol";
import { AddDevicePanel } from "../src/components/AddDevicePanel";
import { TokensPage } from "../src/components/TokensPage";
import { expiringDevices } from "../src/components/TokenBanner";
import { device, mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const SECRET = "wgt_secret_value_0123456789";
const stored: ApiToken = {
  id: "tok-1",
  name: "work laptop",
  scope: "user",
  createdAt: "2030-01-01T00:00:00.000Z",
  expiresAt: "2030-01-08T00:00:00.000Z",
  lastUsedAt: null,
  revokedAt: null,
};

function tokenApi() {
  const tokens: ApiToken[] = [];
  return mockFetch((method, url, body) => {
    if (method === "GET" && url === "/api/tokens") return { body: { tokens } };
    if (method === "POST" && url === "/api/tokens") {
      const name = (body as { name: string }).name;
      tokens.push({ ...stored, name });
      return {
        status: 201,
        body: { id: "tok-1", name, scope: "user", token: SECRET, expiresAt: stored.expiresAt },
      };
    }
    return undefined;
  });
}

describe("API tokens", () => {
  it("shows a new token once, with a copy button, and never again", async () => {
    const calls = tokenApi();
    render(<TokensPage />);
    await screen.findByText("No tokens yet.");
    fireEvent.change(screen.getByTestId("token-name"), { target: { value: "work laptop" } });
    expect((screen.getByTestId("token-days") as HTMLInputElement).value).toBe("7");
    fireEvent.click(screen.getByTestId("token-create"));

    const shown = await screen.findByTestId("token-value");
    expect(shown.textContent).toBe(SECRET);
    expect(screen.getByTestId("token-copy")).toBeTruthy();
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      name: "work laptop",
      scope: "device",
      days: 7,
    });
    const list = await screen.findByTestId("token-list");
    expect(within(list).getByText("work laptop")).toBeTruthy();
    expect(list.textContent).not.toContain(SECRET);

    fireEvent.click(screen.getByTestId("token-done"));
    expect(screen.queryByTestId("token-value")).toBeNull();
    expect(document.body.textContent).not.toContain(SECRET);
    // Coming back to the page fetches the list only: the secret is gone for good.
    cleanup();
    render(<TokensPage />);
    await screen.findByTestId("token-list");
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("offers pairing first and a device token at a prompt: never a token on the command line", async () => {
    const calls = tokenApi();
    render(<AddDevicePanel origin="https://edge.example" />);
    expect(screen.getByTestId("add-device-command").textContent).toBe(
      "npx -y https://edge.example/wegent-executor.tgz --mode local --backend-url https://edge.example",
    );
    const prompt = screen.getByTestId("add-device-env").textContent ?? "";
    expect(prompt).toContain("read -rs WEGENT_TOKEN");
    expect(prompt).toContain("export WEGENT_TOKEN");
    fireEvent.click(screen.getByTestId("add-device-create-token"));
    await vi.waitFor(() => expect(screen.getByTestId("add-device-token").textContent).toBe(SECRET));
    // The token is shown to paste at the prompt, never inside a command.
    for (const testId of ["add-device-command", "add-device-env"]) {
      const text = screen.getByTestId(testId).textContent ?? "";
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain("--token");
    }
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ scope: "device" });
  });

  it("warns only about online devices whose token expires within two days", () => {
    const now = Date.parse("2030-01-01T00:00:00.000Z");
    const soon = "2030-01-02T12:00:00.000Z";
    const later = "2030-01-05T00:00:00.000Z";
    const warned = expiringDevices(
      [
        device({ id: "device-soon", tokenExpiresAt: soon }),
        device({ id: "device-busy", status: "busy", tokenExpiresAt: soon }),
        device({ id: "device-off", status: "offline", tokenExpiresAt: soon }),
        device({ id: "device-later", tokenExpiresAt: later }),
        device({ id: "device-none" }),
      ],
      now,
    );
    expect(warned.map((d) => d.id)).toEqual(["device-soon", "device-busy"]);
  });
});
