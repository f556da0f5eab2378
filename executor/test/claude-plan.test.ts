// Plan mode's plan file, read for the owner's card: the newest plan written since the reply
// started, never through a link the agent planted.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_PLAN_BYTES, readLatestPlan } from "../src/runtime/claude-plan";

const homes: string[] = [];
function home(): { home: string; plans: string } {
  const h = mkdtempSync(join(tmpdir(), "wegent-plan-"));
  homes.push(h);
  const plans = join(h, ".claude", "plans");
  mkdirSync(plans, { recursive: true });
  return { home: h, plans };
}
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

describe("readLatestPlan", () => {
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
});
