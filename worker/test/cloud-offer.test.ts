import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import type { DevicesBody } from "@wegent/protocol";
import { call, createToken, signUp } from "./helpers";
import { eventually, newDeviceId, registerDevice } from "./device-client";

// Cloud is offered only when the pool can run a task: an executor whose runtime reports no
// problem and which reports its sandbox. Otherwise the list says why, in the user's words.

const runtime = {
  id: "claude-code",
  version: "2.1.330",
  auth: { kind: "api_key", label: "API key" },
  models: [],
  commands: [],
  problem: null,
};
const sandbox = { network: "none", limits: [], notApplied: [] };

describe("the cloud offer", () => {
  it("says why Cloud cannot run a task (no sandbox, a runtime problem) and offers it when ready", async () => {
    const user = await signUp();
    const admin = await signUp();
    await env.DB.prepare("UPDATE users SET is_admin = 1 WHERE id = ?").bind(admin.id).run();
    const op = await createToken(admin, { name: "pool", scope: "cloud" });
    const cloud = async () =>
      ((await call("GET", "/api/devices", { cookie: user.cookie })).body as DevicesBody).cloud;

    const bare = await registerDevice(op.token, newDeviceId(), {
      deviceType: "cloud",
      extra: { runtimeInfo: [runtime] },
    });
    expect(await cloud()).toMatchObject({ online: true, executors: 1 });
    expect((await cloud()).problem).toMatch(/no sandbox/);

    const problem = { code: "no_credentials", message: "run: sudo wegent-executor login" };
    const op2 = await createToken(admin, { name: "pool 2", scope: "cloud" });
    const boxed = await registerDevice(op2.token, newDeviceId(), {
      deviceType: "cloud",
      extra: { sandbox, runtimeInfo: [{ ...runtime, problem }] },
    });
    const refused = await cloud();
    expect(refused.problem).toContain("no_credentials");
    // The operator's instructions are not shown to a user of the pool.
    expect(refused.problem).not.toContain("sudo");

    boxed.socket.send({
      type: "device:heartbeat",
      runningTaskIds: [],
      runtimeInfo: [runtime],
    });
    await eventually(async () => ((await cloud()).problem === null ? true : null), 5_000, "ready");
    expect(await cloud()).toMatchObject({ online: true, executors: 2, problem: null });
    bare.socket.close();
    boxed.socket.close();
  });
});
