import { useMemo } from "react";

/** Lines shown at most: a preview, not a review tool. */
const MAX_LINES = 200;

type Line = { kind: "same" | "del" | "add"; text: string };

/**
 * A line diff of an edit (old_string → new_string, or a new file's content): the common head and
 * tail are kept, the middle is shown removed then added. Enough to see what will change.
 */
export function diffLines(before: string, after: string): Line[] {
  const a = before === "" ? [] : before.split("\n");
  const b = after === "" ? [] : after.split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  return [
    ...a.slice(0, head).map((text): Line => ({ kind: "same", text })),
    ...a.slice(head, a.length - tail).map((text): Line => ({ kind: "del", text })),
    ...b.slice(head, b.length - tail).map((text): Line => ({ kind: "add", text })),
    ...a.slice(a.length - tail).map((text): Line => ({ kind: "same", text })),
  ];
}

export function DiffPreview(props: { before: string; after: string }) {
  const lines = useMemo(() => diffLines(props.before, props.after), [props.before, props.after]);
  const shown = lines.slice(0, MAX_LINES);
  return (
    <pre className="code diff" data-testid="diff-preview">
      {shown.map((line, i) => (
        <span key={i} className={`diff-${line.kind}`}>
          {line.kind === "del" ? "- " : line.kind === "add" ? "+ " : "  "}
          {line.text}
          {"\n"}
        </span>
      ))}
      {lines.length > MAX_LINES && (
        <span className="muted">… {lines.length - MAX_LINES} more lines</span>
      )}
    </pre>
  );
}
