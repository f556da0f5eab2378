// The executor scrubs the token from its own /proc, but not from a parent's: `npx … --token X`
// keeps it in `npm exec` and `sh -c` (cmdline, readable by every user) for the executor's whole
// life. The executor finds such parents so it can say so.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ancestorsShowing } from "../src/security/scrub";

describe.runIf(process.platform === "linux")("token in a parent's /proc", () => {
  it("finds an ancestor whose cmdline or environ still shows the token, and none when it does not", async () => {
    const secret = `wdt_${"ab12".repeat(8)}`;
    const parent = spawn("/bin/sh", ["-c", "sleep 30 & echo $!; wait", "sh", "--token", secret], {
      env: { PATH: "/usr/bin:/bin", OTHER_SECRET: "env-secret-value" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let childPid = 0;
    try {
      childPid = await new Promise<number>((resolve) =>
        parent.stdout.once("data", (c: Buffer) => resolve(Number(c.toString().trim()))),
      );
      const found = ancestorsShowing([secret], childPid);
      expect(found).toEqual([{ pid: parent.pid, where: "cmdline", command: "/bin/sh" }]);
      expect(ancestorsShowing(["env-secret-value"], childPid)).toEqual([
        { pid: parent.pid, where: "environ", command: "/bin/sh" },
      ]);
      expect(ancestorsShowing(["never-anywhere-1234"], childPid)).toEqual([]);
      // A launcher that rewrote its title (npm: "npm exec … --token X") is named, never quoted.
      expect(JSON.stringify(found)).not.toContain(secret);
      // The process itself is not counted (the executor scrubs its own).
      expect(ancestorsShowing([secret], parent.pid!)).toEqual([]);
    } finally {
      if (childPid > 0) process.kill(childPid, "SIGKILL");
      parent.kill("SIGKILL");
    }
  });
});
