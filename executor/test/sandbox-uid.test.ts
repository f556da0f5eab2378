import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isRoot, sandboxIdentity } from "../src/sandbox/bwrap";
import { freeSandboxUid, SANDBOX_UID_COUNT, SANDBOX_UID_FIRST } from "../src/sandbox/sandbox-uid";

// The per-task uid of a cloud agent must not be one systemd (or the machine's users, or a
// rootless container's subuids) may hand out, and must be unused when it is taken.

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill("SIGKILL");
});

/** Conventional uid ranges a sandbox uid must stay out of. */
const RESERVED: [string, number, number][] = [
  ["system and regular users (login.defs)", 0, 60000],
  ["systemd-homed", 60001, 60513],
  ["systemd DynamicUser=", 61184, 65519],
  ["nobody / 16-bit -1", 65534, 65535],
  ["default /etc/subuid ranges and container ranges", 100000, 2 ** 32 - 1],
];

describe("the cloud sandbox's uid", () => {
  it.runIf(isRoot())(
    "comes from a range that overlaps no conventional one",
    () => {
      // Each choice reads /proc and /etc/passwd (once per message in production).
      for (let i = 0; i < 50; i++) {
        const { uid, gid } = sandboxIdentity(crypto.randomUUID());
        expect(gid).toBe(uid);
        for (const [what, low, high] of RESERVED) {
          expect(uid < low || uid > high, `uid ${uid} is in the ${what} range`).toBe(true);
        }
      }
    },
    60_000,
  );

  it.runIf(isRoot())(
    "is never a uid a running process has",
    async () => {
      const taskId = crypto.randomUUID();
      const first = sandboxIdentity(taskId).uid;
      // Someone else's process runs as exactly that uid.
      const other = spawn("sleep", ["60"], { uid: first, gid: first, stdio: "ignore" });
      started.push(other);
      await new Promise((resolve) => other.once("spawn", resolve));
      const second = sandboxIdentity(taskId).uid;
      expect(second).not.toBe(first);
      // Nor one another task of this executor holds (its files are owned by it).
      expect(sandboxIdentity(taskId, new Set([first, second])).uid).not.toBe(second);
    },
    30_000,
  );

  it("is never named in /etc/passwd or /etc/group", () => {
    const dir = mkdtempSync(join(tmpdir(), "wegent-uid-"));
    const taskId = "44444444-5555-4666-8777-888888888888";
    const none = join(dir, "none");
    const sources = { passwdFile: none, groupFile: none, procDir: join(dir, "noproc") };
    const uid = freeSandboxUid(taskId, new Set(), sources);
    expect(uid).toBeGreaterThanOrEqual(SANDBOX_UID_FIRST);
    expect(uid).toBeLessThan(SANDBOX_UID_FIRST + SANDBOX_UID_COUNT);
    writeFileSync(join(dir, "passwd"), `svc:x:${uid}:${uid}::/:/bin/false\n`);
    writeFileSync(join(dir, "group"), `grp:x:${uid + 1}:\n`);
    const next = freeSandboxUid(taskId, new Set(), {
      ...sources,
      passwdFile: join(dir, "passwd"),
      groupFile: join(dir, "group"),
    });
    expect([uid, uid + 1]).not.toContain(next);
    // Every uid in use: a clear refusal, not a shared uid.
    const all = new Set(Array.from({ length: SANDBOX_UID_COUNT }, (_, i) => SANDBOX_UID_FIRST + i));
    expect(() => freeSandboxUid(taskId, all, sources)).toThrow(/No free sandbox uid/);
  });
});
