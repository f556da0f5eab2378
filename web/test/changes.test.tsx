import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { splitDiff } from "../src/commands/diff";
import { ChangedFileView, finishedEdits } from "../src/components/ChangesPanel";
import { toView } from "../src/state/messages";

// Real `git diff` output (a modified file, a new file with a space, a deleted file).
const DIFF = `diff --git a/a.txt b/a.txt
index 4c5fd91..8b3c1b6 100644
--- a/a.txt
+++ b/a.txt
@@ -1,3 +1,4 @@
 one
-two
+TWO
 three
+four
diff --git a/new file.md b/new file.md
new file mode 100644
index 0000000..5c1b149
--- /dev/null
+++ b/new file.md
@@ -0,0 +1 @@
+# hi
diff --git a/gone.ts b/gone.ts
deleted file mode 100644
index 1111111..0000000
--- a/gone.ts
+++ /dev/null
@@ -1 +0,0 @@
-export const x = "--- not a header";
`;

describe("Changes tab", () => {
  it("splits a unified diff per file, keeping +/- lines that look like headers", () => {
    const files = splitDiff(DIFF);
    expect([...files.keys()]).toEqual(["a.txt", "new file.md", "gone.ts"]);
    const kinds = (path: string) =>
      files
        .get(path)
        ?.filter((l) => l.kind !== "meta")
        .map((l) => l.kind);
    expect(kinds("a.txt")).toEqual(["hunk", "ctx", "del", "add", "ctx", "add"]);
    expect(files.get("gone.ts")?.at(-1)).toEqual({
      kind: "del",
      text: '-export const x = "--- not a header";',
    });
  });

  it("counts finished file edits only (the refresh trigger)", () => {
    const message = {
      ...toView({
        id: "m",
        taskId: "t",
        role: "assistant",
        content: "",
        status: "running",
      } as never),
      // The transcript's blocks: three tool calls, two of them finished.
      blocks: [
        { type: "tool_use" as const, toolUseId: "1", name: "Edit", input: {} },
        { type: "tool_use" as const, toolUseId: "2", name: "Write", input: {} },
        { type: "tool_use" as const, toolUseId: "3", name: "Bash", input: {} },
        { type: "tool_result" as const, toolUseId: "1", summary: "ok", isError: false },
        { type: "tool_result" as const, toolUseId: "3", summary: "ok", isError: false },
      ],
    };
    expect(finishedEdits([message])).toBe(1);
  });
});

describe("Changes tab: a file too large to compare", () => {
  afterEach(cleanup);

  it("shows its size and why there is no diff, instead of calling it binary", () => {
    const file = {
      path: "disk.img",
      status: "added" as const,
      oldPath: null,
      added: null,
      removed: null,
      tooLarge: true,
      size: 8 * 1024 ** 3,
    };
    const props = { deviceId: "d", taskId: "t", onChanged: () => undefined };
    render(<ChangedFileView file={file} lines={[]} {...props} />);
    expect(screen.getByTestId("too-large").textContent).toBe("too large (8.0 GiB)");
    expect(screen.getByTestId("too-large-note").textContent).toMatch(/over the 64\.0 MiB/);
    expect(screen.queryByTestId("diff")).toBeNull();
    expect(screen.queryByText("binary")).toBeNull();
  });
});
