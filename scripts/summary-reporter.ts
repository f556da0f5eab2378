import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends the run with the plain line CI reads: `N passed, N failed` (and skipped, if any).
 * A file that fails to load, or whose setup hook throws (its tests are then skipped, not
 * failed), counts as one failure, and so does every unhandled error: a broken setup must never
 * read as a green run.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      const failedHere = [...mod.children.allTests()].some((t) => t.result().state === "failed");
      if (mod.state() === "failed" && !failedHere) failed++;
    }
    failed += unhandledErrors.length;
    const tail = skipped > 0 ? `, ${skipped} skipped` : "";
    process.stdout.write(`\n${passed} passed, ${failed} failed${tail}\n`);
  }
}
