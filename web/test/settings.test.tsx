import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { McpServer, RuntimeSettings, Skill } from "@wegent/protocol";
import { SettingsPage } from "../src/components/SettingsPage";
import { mockFetch } from "./helpers";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const AT = "2030-01-01T00:00:00.000Z";

function settingsApi() {
  let runtime: RuntimeSettings = {
    model: null,
    permissionMode: null,
    maxTurns: null,
    appendSystemPrompt: "",
    agentEnv: [],
    stallSeconds: 600,
    maxRunMinutes: null,
  };
  const skills: Skill[] = [
    {
      id: "s1",
      name: "release-notes",
      description: "Writes release notes",
      enabled: true,
      size: 10,
      sha256: "a".repeat(64),
      createdAt: AT,
      updatedAt: AT,
    },
  ];
  const servers: McpServer[] = [];
  return mockFetch((method, url, body) => {
    if (url === "/api/settings/runtime") {
      if (method === "PUT") runtime = body as RuntimeSettings;
      return { body: { runtime } };
    }
    if (method === "GET" && url === "/api/skills") return { body: { skills } };
    if (method === "GET" && url === "/api/presets") return { body: { presets: [] } };
    if (method === "GET" && url === "/api/audit?limit=20") {
      return {
        body: {
          entries: [
            {
              id: 2,
              at: AT,
              action: "mcp_server.create",
              via: "token",
              viaId: "t-1",
              viaName: "ci script",
              target: null,
              detail: null,
              outcome: "session_required",
            },
            {
              id: 1,
              at: AT,
              action: "input.answer",
              via: "session",
              viaId: "s-1",
              viaName: null,
              target: "task-1",
              detail: "request r: allow",
              outcome: "ok",
            },
          ],
          nextCursor: null,
        },
      };
    }
    if (method === "PATCH" && url === "/api/skills/s1") {
      skills[0] = { ...skills[0]!, enabled: (body as { enabled: boolean }).enabled };
      return { body: { skill: skills[0] } };
    }
    if (method === "GET" && url === "/api/mcp-servers") return { body: { mcpServers: servers } };
    if (method === "POST" && url === "/api/mcp-servers") {
      const created = {
        id: "m1",
        enabled: true,
        createdAt: AT,
        updatedAt: AT,
        ...(body as object),
      } as McpServer;
      servers.push(created);
      return { status: 201, body: { mcpServer: created } };
    }
    return undefined;
  });
}

describe("Settings", () => {
  it("saves runtime settings, switches a skill off and adds an MCP server", async () => {
    const calls = settingsApi();
    render(<SettingsPage />);
    const prompt = await screen.findByTestId("runtime-append-prompt");
    // One page: runtime settings (with the one default permission mode control) and presets.
    expect(screen.getAllByRole("combobox", { name: /permission mode/i })).toHaveLength(1);
    expect(await screen.findByRole("heading", { name: "Presets" })).toBeTruthy();
    fireEvent.change(prompt, { target: { value: "Answer in French." } });
    fireEvent.change(screen.getByTestId("runtime-agent-env"), {
      target: { value: "GITHUB_TOKEN, NPM_TOKEN" },
    });
    fireEvent.change(screen.getByTestId("runtime-permission-mode"), {
      target: { value: "acceptEdits" },
    });
    fireEvent.change(screen.getByTestId("runtime-stall-seconds"), { target: { value: "120" } });
    fireEvent.change(screen.getByTestId("runtime-max-run-minutes"), { target: { value: "90" } });
    expect(screen.getByLabelText("Appended to Claude Code's system prompt")).toBe(prompt);
    fireEvent.click(screen.getByTestId("runtime-save"));
    await screen.findByText("Saved.");
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({
      model: null,
      permissionMode: "acceptEdits",
      maxTurns: null,
      appendSystemPrompt: "Answer in French.",
      agentEnv: ["GITHUB_TOKEN", "NPM_TOKEN"],
      stallSeconds: 120,
      maxRunMinutes: 90,
    });

    const toggle = (await screen.findByTestId("skill-enabled")) as HTMLInputElement;
    expect(toggle.checked).toBe(true);
    fireEvent.click(toggle);
    await waitFor(() =>
      expect((screen.getByTestId("skill-enabled") as HTMLInputElement).checked).toBe(false),
    );
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ enabled: false });

    fireEvent.change(screen.getByTestId("mcp-name"), { target: { value: "files" } });
    fireEvent.change(screen.getByTestId("mcp-command"), { target: { value: "npx" } });
    fireEvent.change(screen.getByTestId("mcp-args"), { target: { value: "-y files-server" } });
    fireEvent.change(screen.getByTestId("mcp-env"), { target: { value: "API_KEY" } });
    fireEvent.click(screen.getByTestId("mcp-add"));
    await screen.findByTestId("mcp-files");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      name: "files",
      transport: "stdio",
      command: "npx",
      args: ["-y", "files-server"],
      env: ["API_KEY"],
    });
  });

  it("shows the audit of what only a person may do, with a token's refused attempt", async () => {
    settingsApi();
    render(<SettingsPage />);
    const rows = await screen.findAllByTestId("account-audit-entry");
    expect(rows.map((r) => [r.dataset.action, r.dataset.via])).toEqual([
      ["mcp_server.create", "token"],
      ["input.answer", "session"],
    ]);
    expect(rows[0]?.textContent).toContain("API token ci script");
    expect(rows[0]?.textContent).toContain("refused: needs you signed in");
    expect(rows[1]?.textContent).toContain("Answered an agent");
  });
});
