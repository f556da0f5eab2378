// The executor stopping while a failed reply's Claude Code is still ending (closed with a
// grace, already out of the live sessions): it is stopped too, not left to outlive the
// executor and write into a task's HOME afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeModel } from "../../e2e/fake-model/server";
import type { FakeModel } from "../../e2e/fake-model/server";
import { directLauncher } from "../src/runtime/launcher";
import type { AgentLauncher } from "../src/runtime/launcher";
import {
  cleanUp,
  processesOfTask,
  request,
  type TaskDirs,
  taskDirs,
  testRuntime,
} from "./runtime-helpers";

let fake: FakeModel;
const dirs: TaskDirs[] = [];

beforeAll(async () => {
  fake = await startFakeModel();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await cleanUp(dirs);
});

async function waitFor(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("closeAll", () => {
  it("stops a session that is still ending after its reply failed", async () => {
    fake.on("fail and linger", [
      { error: { status: 400, type: "invalid_request_error", message: "fake: refused" } },
    ]);
    // Claude Code under a shell that lingers after it exits: the session's process stays
    // alive through the close's grace, as a slow-to-exit Claude Code would.
    const launcher: AgentLauncher = {
      prepare: async (req) => {
        const plan = await directLauncher.prepare(req);
        return {
          ...plan,
          spawn: (command, args, cwd, env) =>
            plan.spawn("sh", ["-c", '"$@"; exec sleep 61', "sh", command, ...args], cwd, env),
        };
      },
    };
    const d = taskDirs();
    dirs.push(d);
    const runtime = testRuntime(fake.url, { launcher });
    const run = runtime.run(
      request(d, "fail and linger"),
      () => undefined,
      new AbortController().signal,
    );
    await waitFor("the reply to fail and the process to linger", () =>
      processesOfTask(d.homeDir).some((p) => p.cmd === "sleep 61"),
    );
    await runtime.closeAll?.();
    expect(processesOfTask(d.homeDir)).toEqual([]);
    expect(await run).toMatchObject({ ok: false, code: "agent_error" });
  }, 60_000);
});
