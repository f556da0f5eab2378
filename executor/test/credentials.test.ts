// Credentials as Claude Code resolves them (issue 22): every way Claude Code itself signs in
// counts, in Claude Code's order, and nothing here reads a secret. The macOS Keychain check
// runs an injected `security` command that records its arguments.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  authOf,
  credentialsInvalidMessage,
  findCredentials,
  keychainHasLogin,
} from "../src/local/credentials";
import { rootRefusal } from "../src/runtime/claude/preflight";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "wegent-creds-"));
  dirs.push(d);
  return d;
}
function write(path: string, value: unknown): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}
/** A fake `security`: records its argv, exits with `code`. */
function fakeSecurity(code: number): { command: string; calls: () => string[] } {
  const dir = tmp();
  const log = join(dir, "calls");
  const command = join(dir, "security");
  writeFileSync(command, `#!/bin/sh\necho "$@" >> '${log}'\nexit ${code}\n`);
  chmodSync(command, 0o755);
  return {
    command,
    calls: () => {
      try {
        return readFileSync(log, "utf8").trim().split("\n");
      } catch {
        return [];
      }
    },
  };
}
const noManaged = { managedSettings: [] as string[], platform: "linux" as const };

describe("findCredentials", () => {
  it("finds nothing in an empty HOME", () => {
    expect(findCredentials({ HOME: tmp() }, noManaged)).toBeNull();
    expect(authOf(null)).toEqual({ kind: "none", label: "No model credentials" });
  });

  it("knows each variable, and a gateway by its base URL", () => {
    const HOME = tmp();
    const kind = (env: Record<string, string>) => findCredentials({ HOME, ...env }, noManaged);
    expect(kind({ ANTHROPIC_API_KEY: "k" })).toMatchObject({ kind: "api_key", label: "API key" });
    expect(kind({ CLAUDE_CODE_OAUTH_TOKEN: "t" })).toMatchObject({ kind: "oauth_token" });
    expect(
      kind({ ANTHROPIC_BASE_URL: "https://llm.example.com/v1", ANTHROPIC_AUTH_TOKEN: "t" }),
    ).toMatchObject({ kind: "gateway", label: "Gateway llm.example.com" });
    expect(kind({ CLAUDE_CODE_USE_BEDROCK: "1", AWS_REGION: "eu-west-1" })).toMatchObject({
      kind: "bedrock",
      label: "Amazon Bedrock (eu-west-1)",
    });
    expect(kind({ CLAUDE_CODE_USE_VERTEX: "true" })).toMatchObject({ kind: "vertex" });
    expect(kind({ CLAUDE_CODE_USE_FOUNDRY: "1" })).toMatchObject({ kind: "foundry" });
    // Claude Code's order: a cloud provider first, then the auth token, then the API key.
    expect(
      kind({ CLAUDE_CODE_USE_BEDROCK: "1", ANTHROPIC_API_KEY: "k", ANTHROPIC_AUTH_TOKEN: "t" }),
    ).toMatchObject({ kind: "bedrock" });
    expect(kind({ CLAUDE_CODE_USE_BEDROCK: "0", ANTHROPIC_API_KEY: "k" })).toMatchObject({
      kind: "api_key",
    });
  });

  it("finds an apiKeyHelper in the user's, the project's and the managed settings", () => {
    const HOME = tmp();
    const project = tmp();
    const managed = join(tmp(), "managed-settings.json");
    const probe = { ...noManaged, projectDir: project, managedSettings: [managed] };
    expect(findCredentials({ HOME }, probe)).toBeNull();
    write(join(project, ".claude", "settings.local.json"), { apiKeyHelper: "echo k" });
    expect(findCredentials({ HOME }, probe)).toMatchObject({
      kind: "api_key_helper",
      label: "API key helper",
    });
    // Without the project folder, only the user's and the managed files count.
    expect(findCredentials({ HOME }, { ...probe, projectDir: undefined })).toBeNull();
    write(managed, { apiKeyHelper: "/opt/get-key" });
    expect(findCredentials({ HOME }, { ...probe, projectDir: undefined })).toMatchObject({
      kind: "api_key_helper",
      where: managed,
    });
    write(join(HOME, ".claude", "settings.json"), { apiKeyHelper: "~/bin/key" });
    expect(findCredentials({ HOME }, noManaged)).toMatchObject({ kind: "api_key_helper" });
  });

  it("counts variables a settings file's env sets, as Claude Code applies them", () => {
    const HOME = tmp();
    write(join(HOME, ".claude", "settings.json"), { env: { CLAUDE_CODE_USE_VERTEX: "1" } });
    expect(findCredentials({ HOME }, noManaged)).toMatchObject({ kind: "vertex" });
  });

  it("reads the login file's subscription, never its token", () => {
    const HOME = tmp();
    write(join(HOME, ".claude", ".credentials.json"), {
      claudeAiOauth: { accessToken: "secret-token-123", subscriptionType: "max" },
    });
    const found = findCredentials({ HOME }, noManaged);
    expect(found).toMatchObject({ kind: "login", label: "Claude Code login (Max)" });
    expect(JSON.stringify(found)).not.toContain("secret-token-123");
  });

  it("asks the macOS Keychain for the login's presence only, with the injected command", () => {
    const HOME = tmp();
    const present = fakeSecurity(0);
    expect(
      findCredentials(
        { HOME },
        { platform: "darwin", managedSettings: [], securityCommand: present.command },
      ),
    ).toEqual({
      kind: "keychain_login",
      label: "Claude Code login (macOS Keychain)",
      where: 'Keychain "Claude Code-credentials"',
    });
    // Presence only: no -w / -g (which would print the secret).
    expect(present.calls()).toEqual(["find-generic-password -s Claude Code-credentials"]);
    const absent = fakeSecurity(44);
    expect(
      findCredentials(
        { HOME },
        { platform: "darwin", managedSettings: [], securityCommand: absent.command },
      ),
    ).toBeNull();
    expect(absent.calls()).toHaveLength(1);
    expect(keychainHasLogin(join(tmp(), "no-such-security"))).toBe(false);
    // Not on Linux: the Keychain is never asked.
    const unused = fakeSecurity(0);
    expect(findCredentials({ HOME }, { ...noManaged, securityCommand: unused.command })).toBeNull();
    expect(unused.calls()).toEqual([]);
  });

  it("says the fix in words when the model refuses them", () => {
    const message = credentialsInvalidMessage(
      { kind: "login", label: "Claude Code login (Max)" },
      "OAuth token has expired",
      true,
    );
    expect(message).toContain("Claude Code login (Max)");
    expect(message).toContain("/login");
    expect(message).toContain("OAuth token has expired");
  });
});

describe("running as root", () => {
  it("accepts IS_SANDBOX exactly 1 (or Claude Code's bubblewrap marker), as Claude Code does", () => {
    expect(rootRefusal({ IS_SANDBOX: "1" }, "bypassPermissions", 0)).toBeNull();
    expect(rootRefusal({ CLAUDE_CODE_BUBBLEWRAP: "1" }, "bypassPermissions", 0)).toBeNull();
    const yes = rootRefusal({ IS_SANDBOX: "yes" }, "bypassPermissions", 0);
    expect(yes).toContain('IS_SANDBOX is set to "yes"');
    expect(yes).toContain("IS_SANDBOX=1");
    expect(rootRefusal({ IS_SANDBOX: "true" }, "bypassPermissions", 0)).not.toBeNull();
    expect(rootRefusal({}, "bypassPermissions", 0)).toContain("IS_SANDBOX=1");
    // Another mode, or another user: Claude Code runs.
    expect(rootRefusal({}, "acceptEdits", 0)).toBeNull();
    expect(rootRefusal({}, "bypassPermissions", 1000)).toBeNull();
  });
});
