import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends the run with the plain line CI reads: `N passed, N failed` (and skipped, if any).
 * A file that fails to load, or whose setup hook throws (its tests are then skipped, not
 * failed), counts as one failure, and so does every unhandled error: a broken setup must never
 * read as a green run. Cloud-sandbox tests skipped for want of bubblewrap (never under CI, see
 * executor/test/needs-sandbox.ts) are named in one line of their own.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    let sandboxSkipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === "passed") passed++;
        else if (result.state === "failed") failed++;
        else {
          skipped++;
          // executor/test/needs-sandbox.ts: skipped only off CI, where bwrap is missing.
          if (result.state === "skipped" && result.note?.startsWith("cloud-sandbox:")) {
            sandboxSkipped++;
          }
        }
      }
      const failedHere = [...mod.children.allTests()].some((t) => t.result().state === "failed");
      if (mod.state() === "failed" && !failedHere) failed++;
    }
    failed += unhandledErrors.length;
    const tail = skipped > 0 ? `, ${skipped} skipped` : "";
    if (sandboxSkipped > 0) {
      process.stdout.write(
        `\n${sandboxSkipped} cloud-sandbox scenarios skipped: install bubblewrap (apt-get install bubblewrap) to run them\n`,
      );
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${tail}\n`);
  }
}
