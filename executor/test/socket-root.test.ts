// Model socket folders left by a crashed cloud executor are swept at the next start; a live
// executor's folder (this process, or another running one) is kept.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeSocketRoot, sweepSocketRoots } from "../src/sandbox/socket-root";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("model socket folders", () => {
  it("sweeps a dead executor's folder and keeps live ones and strangers", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "wegent-sweep-test-"));
    dirs.push(tmp);
    const mine = makeSocketRoot(tmp);
    const crashed = join(tmp, "wegent-model-crashed");
    mkdirSync(join(crashed, "task-1"), { recursive: true });
    writeFileSync(join(crashed, "executor.pid"), String(await deadPid()));
    const otherLive = join(tmp, "wegent-model-other");
    mkdirSync(otherLive);
    writeFileSync(join(otherLive, "executor.pid"), "1");
    const noOwner = join(tmp, "wegent-model-unknown");
    mkdirSync(noOwner);
    const unrelated = join(tmp, "something-else");
    mkdirSync(unrelated);
    // A link named like ours, to a dead executor's folder elsewhere: neither is swept.
    const elsewhere = mkdtempSync(join(tmpdir(), "wegent-sweep-target-"));
    dirs.push(elsewhere);
    writeFileSync(join(elsewhere, "executor.pid"), String(await deadPid()));
    const link = join(tmp, "wegent-model-link");
    symlinkSync(elsewhere, link);

    expect(sweepSocketRoots(tmp)).toBe(1);
    expect(existsSync(crashed)).toBe(false);
    for (const kept of [mine, otherLive, noOwner, unrelated, link, elsewhere])
      expect(existsSync(kept)).toBe(true);
  });
});
