// Splits a unified diff (git's) into one block of lines per file.

export type DiffLineKind = "add" | "del" | "ctx" | "hunk" | "meta";
export interface DiffLine {
  kind: DiffLineKind;
  text: string;
}

function stripPrefix(name: string): string | null {
  const clean = name.replace(/\t.*$/, "");
  if (clean === "/dev/null") return null;
  const unquoted = clean.startsWith('"') ? clean.slice(1, -1) : clean;
  return unquoted.replace(/^[ab]\//, "");
}

/** path → its lines; the path is the new name (the old one for a deleted file). */
export function splitDiff(diff: string): Map<string, DiffLine[]> {
  const files = new Map<string, DiffLine[]>();
  let lines: DiffLine[] = [];
  let oldName: string | null = null;
  let inHunk = false;
  const close = (path: string | null) => {
    if (path !== null && lines.length > 0) files.set(path, lines);
  };
  let current: string | null = null;
  for (const text of diff.split("\n")) {
    if (text.startsWith("diff --git ")) {
      close(current);
      lines = [{ kind: "meta", text }];
      current = null;
      oldName = null;
      inHunk = false;
      const match = /^diff --git a\/(.*) b\/(.*)$/.exec(text);
      if (match?.[1] === match?.[2]) current = match?.[2] ?? null;
      continue;
    }
    if (!inHunk && text.startsWith("--- ")) {
      oldName = stripPrefix(text.slice(4));
      lines.push({ kind: "meta", text });
    } else if (!inHunk && text.startsWith("+++ ")) {
      current = stripPrefix(text.slice(4)) ?? oldName ?? current;
      lines.push({ kind: "meta", text });
    } else if (!inHunk && text.startsWith("rename to ")) {
      current = text.slice("rename to ".length);
      lines.push({ kind: "meta", text });
    } else if (text.startsWith("@@")) {
      inHunk = true;
      lines.push({ kind: "hunk", text });
    } else if (inHunk && text.startsWith("+")) {
      lines.push({ kind: "add", text });
    } else if (inHunk && text.startsWith("-")) {
      lines.push({ kind: "del", text });
    } else if (inHunk && (text.startsWith(" ") || text === "")) {
      if (text !== "") lines.push({ kind: "ctx", text });
    } else {
      lines.push({ kind: "meta", text });
    }
  }
  close(current);
  return files;
}

/** The highlighter's language for a file name. */
export function languageOf(path: string): string {
  return /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
}
