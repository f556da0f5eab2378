import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import type { HubFrame, TaskWithMessages } from "@wegent/protocol";
import { call, createToken, expectError, signUp } from "./helpers";
import { newDeviceId, registerDevice } from "./device-client";

// A pool where only some executors run Codex: a Codex message goes to one that does (even with
// fewer free slots), a Claude Code message to the freest; with none running Codex, a clear 409.

type Execute = Extract<HubFrame, { type: "task:execute" }>;

const describe_ = (id: "claude-code" | "codex") => ({
  id,
  version: "1.0.0",
  auth: { kind: "api_key", label: "API key of the pool" },
  models: [],
  commands: [],
  problem: null,
});
const sandbox = { network: "none", limits: [], notApplied: [] };

describe("the cloud pool and the task's runtime", () => {
  it("sends a Codex message to an executor that runs Codex, and says so when none does", async () => {
    const user = await signUp();
    const admin = await signUp();
    await env.DB.prepare("UPDATE users SET is_admin = 1 WHERE id = ?").bind(admin.id).run();
    const claudeOnly = await registerDevice(
      (await createToken(admin, { name: "pool a", scope: "cloud" })).token,
      newDeviceId(),
      {
        deviceType: "cloud",
        maxSlots: 5,
        extra: { sandbox, runtimes: ["claude-code"], runtimeInfo: [describe_("claude-code")] },
      },
    );
    // Only Codex when none offers it: a clear refusal, nothing written.
    const none = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Hello Codex", target: "cloud", runtime: "codex" },
    });
    expectError(none, 409, "runtime_unavailable");
    expect((none.body as { error: { message: string } }).error.message).toContain("Codex");

    const both = await registerDevice(
      (await createToken(admin, { name: "pool b", scope: "cloud" })).token,
      newDeviceId(),
      {
        deviceType: "cloud",
        maxSlots: 2,
        extra: {
          sandbox,
          runtimes: ["claude-code", "codex"],
          runtimeInfo: [describe_("claude-code"), describe_("codex")],
        },
      },
    );
    const codex = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Hello Codex", target: "cloud", runtime: "codex" },
    });
    expect(codex.status, JSON.stringify(codex.body)).toBe(201);
    expect((codex.body as TaskWithMessages).task.runtime).toBe("codex");
    expect(((await both.socket.next("task:execute")) as Execute).runtime).toBe("codex");

    // Claude Code goes to the executor with the most free slots (5 vs 1 left).
    const claude = await call("POST", "/api/tasks", {
      cookie: user.cookie,
      body: { message: "Hello Claude", target: "cloud", runtime: "claude-code" },
    });
    expect(claude.status, JSON.stringify(claude.body)).toBe(201);
    expect(((await claudeOnly.socket.next("task:execute")) as Execute).runtime).toBe("claude-code");
    claudeOnly.socket.close();
    both.socket.close();
  });
});
