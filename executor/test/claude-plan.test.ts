// Plan mode's plan file, read for the owner's card: the newest plan written since the reply
// started, never through a link the agent planted.
import { spawn } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { removeTree } from "../../e2e/remove-tree";
import { MAX_PLAN_BYTES, planFileWritten, readLatestPlan } from "../src/runtime/claude/plan";

const homes: string[] = [];
function home(): { home: string; plans: string } {
  const h = mkdtempSync(join(tmpdir(), "wegent-plan-"));
  homes.push(h);
  const plans = join(h, ".claude", "plans");
  mkdirSync(plans, { recursive: true });
  return { home: h, plans };
}
afterEach(() => {
  for (const h of homes.splice(0)) removeTree(h);
});

describe("readLatestPlan", () => {
  it("reads the session's own plan file, not another session's newer one", async () => {
    const { home: h, plans } = home();
    const start = Date.now();
    writeFileSync(join(plans, "mine.md"), "1. my plan");
    writeFileSync(join(plans, "theirs.md"), "1. another session's plan");
    const later = new Date(start + 60_000);
    utimesSync(join(plans, "theirs.md"), later, later);
    expect(await readLatestPlan(h, start)).toBe("1. another session's plan");
    expect(await readLatestPlan(h, start, "mine.md")).toBe("1. my plan");
    // Its own file from before the reply (or gone): the newest since, as before.
    expect(await readLatestPlan(h, start, "missing.md")).toBe("1. another session's plan");
  });

  it("learns the plan file's name from the session's Write of it, never a path", () => {
    const write = (name: string, file_path: string) => ({
      type: "assistant",
      message: { content: [{ type: "tool_use", name, input: { file_path } }] },
    });
    expect(planFileWritten(write("Write", "/home/me/.claude/plans/brave-fox.md"))).toBe(
      "brave-fox.md",
    );
    expect(planFileWritten(write("Edit", "/root/.claude/plans/a.md"))).toBe("a.md");
    expect(planFileWritten(write("Write", "/home/me/project/plan.md"))).toBeNull();
    expect(planFileWritten(write("Bash", "/home/me/.claude/plans/a.md"))).toBeNull();
    expect(planFileWritten({ type: "user", message: { content: [] } })).toBeNull();
  });

  it("reads the newest plan written since the reply started, not an older one", async () => {
    const { home: h, plans } = home();
    const start = Date.now();
    writeFileSync(join(plans, "old.md"), "old plan");
    const past = new Date(start - 60_000);
    utimesSync(join(plans, "old.md"), past, past);
    expect(await readLatestPlan(h, start)).toBeNull();
    writeFileSync(join(plans, "new.md"), "1. new plan");
    expect(await readLatestPlan(h, start)).toBe("1. new plan");
  });

  it("does not follow a plan file or a plans folder that is a link, and reads at most 256 KiB", async () => {
    const { home: h, plans } = home();
    const secret = join(h, "secret.txt");
    writeFileSync(secret, "operator secret");
    symlinkSync(secret, join(plans, "evil.md"));
    expect(await readLatestPlan(h, Date.now() - 5000)).toBeNull();

    const other = home();
    rmSync(other.plans, { recursive: true });
    const outside = mkdtempSync(join(tmpdir(), "wegent-plan-outside-"));
    homes.push(outside);
    writeFileSync(join(outside, "x.md"), "outside the home");
    symlinkSync(outside, other.plans);
    expect(await readLatestPlan(other.home, Date.now() - 5000)).toBeNull();

    writeFileSync(join(plans, "big.md"), "x".repeat(MAX_PLAN_BYTES + 100));
    expect((await readLatestPlan(h, Date.now() - 5000))?.length).toBe(MAX_PLAN_BYTES);
  });

  it("refuses a hard-linked plan file", async () => {
    const { home: h, plans } = home();
    const elsewhere = join(h, "elsewhere.txt");
    writeFileSync(elsewhere, "not a plan");
    linkSync(elsewhere, join(plans, "linked.md"));
    expect(await readLatestPlan(h, Date.now() - 5000)).toBeNull();
  });

  it.runIf(process.platform === "linux")(
    "never hangs when the agent swaps the plan for a FIFO between the check and the open",
    async () => {
      const { home: h, plans } = home();
      writeFileSync(join(plans, "plan.md"), "1. plan");
      // A file and a FIFO renamed over plan.md in turn, as fast as the shell goes.
      const swapper = spawn(
        "sh",
        [
          "-c",
          "while :; do rm -f p.tmp; mkfifo p.tmp && mv -f p.tmp plan.md; echo 1. plan > f.tmp && mv -f f.tmp plan.md; done",
        ],
        // Its own process group, so the `mv` or `echo` running at the kill dies with it and
        // writes nothing into the folder being removed.
        { cwd: plans, stdio: "ignore", detached: true },
      );
      const exited = new Promise((resolve) => swapper.once("exit", resolve));
      try {
        const end = Date.now() + 3000;
        let calls = 0;
        while (Date.now() < end) {
          const read = readLatestPlan(h, Date.now() - 5000);
          const hung = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 2000));
          const result = await Promise.race([read, hung]);
          expect(result, `call ${calls} hung on the FIFO`).not.toBe("hung");
          expect(result === null || result.startsWith("1. plan")).toBe(true);
          calls++;
        }
        expect(calls).toBeGreaterThan(10);
      } finally {
        try {
          if (swapper.pid !== undefined) process.kill(-swapper.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
        await exited;
      }
    },
    20_000,
  );
});
