import { describe, expect, it } from "vitest";
import { titleFrom } from "../routes/tasks";

describe("a task's title from its first message", () => {
  it("keeps a short first line, and cuts a long one at a word with an ellipsis", () => {
    expect(titleFrom("  Fix the build\nand more")).toBe("Fix the build");
    const long =
      "Please refactor the authentication middleware so that expired sessions are refreshed transparently";
    const title = titleFrom(long);
    expect(title).toBe(
      "Please refactor the authentication middleware so that expired sessions are…",
    );
    expect(Array.from(title).length).toBeLessThanOrEqual(80);
    expect(long.startsWith(title.slice(0, -1))).toBe(true);
    // One long word has no boundary: cut where it must be.
    expect(Array.from(titleFrom("x".repeat(200))).length).toBe(80);
  });
});
