// Git in the workspace tests: real repositories made by the test, with a fixed author.
import { execFileSync } from "node:child_process";

/** Runs `git <args>` in `cwd` and returns its trimmed output. */
export const sh = (cwd: string, ...args: string[]): string =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  }).trim();
