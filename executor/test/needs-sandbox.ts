// The cloud-pool sandbox needs bubblewrap. On a developer's bare machine (no `bwrap`) the tests
// that run it are skipped with a note the summary counts in one line; under CI (`CI=true`) a
// missing or broken sandbox fails them instead, so CI can never skip them silently.
import { it, type TestContext } from "vitest";
import { findBwrap, probeSandbox } from "../src/sandbox/bwrap";

/** The note each skipped sandbox test carries; the summary reporter counts them by it. */
export const SANDBOX_SKIP_NOTE = "cloud-sandbox: bubblewrap not available";

let probed: string | null | undefined;

/** Why the sandbox can't run here, or null when it can (probed once per process). */
export function sandboxProblem(): string | null {
  if (probed === undefined) {
    probed =
      process.platform !== "linux"
        ? "the cloud sandbox runs on Linux only"
        : probeSandbox(findBwrap());
  }
  return probed;
}

/** `it` for a test that runs the real cloud sandbox. */
export function sandboxIt(
  name: string,
  fn: (ctx: TestContext) => Promise<unknown> | unknown,
  timeout?: number,
): void {
  it(
    name,
    async (ctx) => {
      const problem = sandboxProblem();
      if (problem !== null) {
        if (process.env.CI) {
          throw new Error(
            `The cloud sandbox can't run here (${problem}); CI must run this test: install bubblewrap (apt-get install bubblewrap).`,
          );
        }
        ctx.skip(SANDBOX_SKIP_NOTE);
      }
      await fn(ctx);
    },
    timeout,
  );
}
