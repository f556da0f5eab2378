// `npm run gauntlet -- --docs` rewrites docs/reliability.md from a run: the hand-written rows
// below its marker must survive the rewrite.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HAND_WRITTEN, reliabilityDoc } from "../gauntlet/doc";
import type { Machine } from "../lib/machine";

const machine: Machine = {
  date: "2026-12-05T00:00:00Z",
  cores: 2,
  cpu: "test",
  memoryGiB: 4,
  node: "v22",
  workerd: "1",
  wrangler: "4",
};

describe("reliabilityDoc", () => {
  it("keeps the hand-written part of the current file", () => {
    const current = readFileSync(join(__dirname, "../../docs/reliability.md"), "utf8");
    expect(current).toContain(HAND_WRITTEN);
    const kept = current.slice(current.indexOf(HAND_WRITTEN));
    const outcome = { name: "a scenario", passed: true, figure: "1 ms", seconds: 1 };
    const written = reliabilityDoc([outcome], machine, 60, current);
    expect(written).toContain("| a scenario | pass | 1 ms |");
    expect(written.endsWith(kept)).toBe(true);
    expect(written).toContain("## Long-running devices, shared platforms, busy machines");
  });

  it("writes only the generated part when the file has no marker", () => {
    const written = reliabilityDoc([], machine, 60, "# old\n\n## Something\n");
    expect(written).not.toContain("## Something");
    expect(written).not.toContain(HAND_WRITTEN);
  });
});
