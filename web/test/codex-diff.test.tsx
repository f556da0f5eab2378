// Codex's file changes (`apply_patch` with `{ changes: [{ path, kind, diff }] }`) as a diff in
// the tool row: an added file is all additions, an update's unified diff is read line by line.
import { describe, expect, it } from "vitest";
import { diffOf, summaryParts, type ToolCall } from "../src/lib/tool-summary";

const call = (changes: unknown[]): ToolCall => ({
  id: "c",
  name: "apply_patch",
  input: { changes },
  result: { summary: "Changed", isError: false },
});

describe("Codex file changes as a diff", () => {
  it("an added file: its content as additions, the path relative to the workspace", () => {
    const diff = diffOf(call([{ path: "/w/notes.txt", kind: "add", diff: "one\ntwo\n" }]), "/w");
    expect(diff).toMatchObject({ path: "notes.txt", added: 2, removed: 0 });
    expect(diff?.lines).toEqual([
      { kind: "add", text: "one" },
      { kind: "add", text: "two" },
    ]);
  });

  it("an update's unified diff, and several files in one change", () => {
    const update = "--- a/x.ts\n+++ b/x.ts\n@@ -1,2 +1,2 @@\n keep\n-old\n+new\n";
    const c = call([
      { path: "/w/x.ts", kind: "update", diff: update },
      { path: "/w/gone.txt", kind: "delete", diff: "bye\n" },
    ]);
    const diff = diffOf(c, "/w");
    expect(diff).toMatchObject({ path: "x.ts and 1 more", added: 1, removed: 2 });
    expect(diff?.lines).toEqual([
      { kind: "same", text: "x.ts" },
      { kind: "same", text: "keep" },
      { kind: "del", text: "old" },
      { kind: "add", text: "new" },
      { kind: "same", text: "⋯" },
      { kind: "same", text: "gone.txt" },
      { kind: "del", text: "bye" },
    ]);
    expect(summaryParts(c, "/w")).toEqual(["x.ts and 1 more", "+1 −2"]);
  });
});
