// What a tool row says in one line, from the tool's input and its result: the terminal's
// `Update(index.js) ⎿ +4 lines`, in the browser. Pure functions, tested in web/test.

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  result: { summary: string; isError: boolean; durationMs?: number } | null;
}

/** How a row ended, or that it has not. */
export type ToolState = "running" | "waiting" | "done" | "error" | "stopped" | "failed";

export interface DiffLine {
  kind: "add" | "del" | "same";
  text: string;
}

export interface ToolDiff {
  path: string;
  lines: DiffLine[];
  added: number;
  removed: number;
  /** Lines left out of `lines` (a long diff is cut). */
  omitted: number;
}

const record = (input: unknown): Record<string, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input)
    ? (input as Record<string, unknown>)
    : {};
const str = (value: unknown): string | null =>
  typeof value === "string" && value.length > 0 ? value : null;

/**
 * The workspace folder a message's tools ran in, guessed from their paths: a task's worktree
 * `…/worktrees/<project>/<short id>/` or scratch folder `…/<task id>/`.
 */
export function workspaceRootOf(calls: readonly ToolCall[], taskId: string | null): string | null {
  if (!taskId) return null;
  const short = taskId.slice(0, 8);
  for (const call of calls) {
    const input = record(call.input);
    for (const value of [input.file_path, input.notebook_path, input.path, input.command]) {
      if (typeof value !== "string") continue;
      const scratch = value.match(new RegExp(`(/[^\\s'"]*?/${escape(taskId)})(?=/|$|\\s)`));
      if (scratch) return scratch[1]!;
      const tree = value.match(new RegExp(`(/[^\\s'"]*?/worktrees/[^/\\s]+/${short})(?=/|$|\\s)`));
      if (tree) return tree[1]!;
    }
  }
  return null;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A path as the user thinks of it: relative to the workspace when inside it. */
export function relativePath(path: string, root: string | null): string {
  if (root && path === root) return ".";
  if (root && path.startsWith(`${root}/`)) return path.slice(root.length + 1);
  return path;
}

/** Every mention of the workspace folder in a text (a command) made relative. */
export function relativeText(text: string, root: string | null): string {
  if (!root) return text;
  return text.split(`${root}/`).join("").split(root).join(".");
}

/** A command as the user would type it in the workspace: `cd <workspace> && ` dropped. */
export function commandText(command: string, root: string | null): string {
  return relativeText(command, root).replace(/^\s*cd\s+(?:\.|"\."|'\.')\s*&&\s*/, "");
}

/** Cuts a text to one line of at most `max` characters, at a word boundary when it can. */
export function oneLine(text: string, max = 80): string {
  const line = text.trim().split("\n")[0]!.trim();
  const more = line.length > max || text.trim().includes("\n");
  if (line.length <= max) return more ? `${line} …` : line;
  const cut = line.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

/** A running clock: `7 s`, `2 min 5 s`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A Bash result's exit code: Claude Code writes `Exit code N` at the top of a failure. */
export function exitCodeOf(result: NonNullable<ToolCall["result"]>): number | null {
  if (!result.isError) return 0;
  const match = result.summary.match(/^\s*Exit code (\d+)/);
  return match ? Number(match[1]) : null;
}

const MAX_DIFF_LINES = 400;

/** A line diff of two texts (longest common subsequence; a huge one is all-removed/all-added). */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.length === 0 ? [] : before.split("\n");
  const b = after.length === 0 ? [] : after.split("\n");
  if (a.length * b.length > 250_000) {
    return [
      ...a.map((text) => ({ kind: "del" as const, text })),
      ...b.map((text) => ({ kind: "add" as const, text })),
    ];
  }
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ kind: "same", text: a[i]! });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removed lines before the lines that replace them, as `git diff` shows them.
      lines.push({ kind: "del", text: a[i]! });
      i++;
    } else {
      lines.push({ kind: "add", text: b[j]! });
      j++;
    }
  }
  return lines;
}

/** The change an editing tool makes, as a diff (null for tools that do not edit). */
export function diffOf(call: ToolCall, root: string | null): ToolDiff | null {
  const input = record(call.input);
  const path = str(input.file_path) ?? str(input.notebook_path) ?? "";
  let lines: DiffLine[];
  switch (call.name) {
    case "Edit":
      if (typeof input.old_string !== "string" || typeof input.new_string !== "string") return null;
      lines = lineDiff(input.old_string, input.new_string);
      break;
    case "MultiEdit": {
      if (!Array.isArray(input.edits)) return null;
      lines = [];
      for (const edit of input.edits.map(record)) {
        if (lines.length > 0) lines.push({ kind: "same", text: "⋯" });
        lines.push(...lineDiff(String(edit.old_string ?? ""), String(edit.new_string ?? "")));
      }
      break;
    }
    case "Write":
      if (typeof input.content !== "string") return null;
      lines = lineDiff("", input.content.replace(/\n$/, ""));
      break;
    case "apply_patch": {
      if (Array.isArray(input.changes)) return changesDiff(input.changes.map(record), root);
      const patch = str(input.patch) ?? str(input.input);
      if (!patch) return null;
      lines = patch
        .split("\n")
        .filter((line) => !line.startsWith("*** ") && !line.startsWith("@@"))
        .map((line) => ({
          kind: line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "same",
          text: /^[+\- ]/.test(line) ? line.slice(1) : line,
        }));
      const file = patch.match(/^\*\*\* (?:Update|Add|Delete) File: (.+)$/m);
      return count(relativePath(file?.[1] ?? path, root), lines);
    }
    default:
      return null;
  }
  return count(relativePath(path, root), lines);
}

/**
 * Codex's file changes (`{ path, kind, diff }` each): an added file's diff is its content, a
 * deleted one's what it held, an updated one's a unified diff. Several files follow each other.
 */
function changesDiff(changes: Record<string, unknown>[], root: string | null): ToolDiff | null {
  if (changes.length === 0) return null;
  const lines: DiffLine[] = [];
  for (const change of changes) {
    const diff = typeof change.diff === "string" ? change.diff.replace(/\n$/, "") : "";
    if (lines.length > 0) lines.push({ kind: "same", text: "⋯" });
    if (changes.length > 1)
      lines.push({ kind: "same", text: relativePath(String(change.path ?? ""), root) });
    if (change.kind === "add" || change.kind === "delete") {
      const kind = change.kind === "add" ? "add" : "del";
      if (diff) lines.push(...diff.split("\n").map((text) => ({ kind, text }) as DiffLine));
      continue;
    }
    for (const line of diff.split("\n")) {
      if (/^(---|\+\+\+|@@|diff |index )/.test(line)) continue;
      lines.push({
        kind: line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "same",
        text: /^[+\- ]/.test(line) ? line.slice(1) : line,
      });
    }
  }
  const first = relativePath(String(changes[0]!.path ?? ""), root);
  const path = changes.length > 1 ? `${first} and ${changes.length - 1} more` : first;
  return count(path, lines);
}

function count(path: string, all: DiffLine[]): ToolDiff {
  const added = all.filter((l) => l.kind === "add").length;
  const removed = all.filter((l) => l.kind === "del").length;
  const lines = all.slice(0, MAX_DIFF_LINES);
  return { path, lines, added, removed, omitted: all.length - lines.length };
}

/** Tools whose row says all their input already (no "Input" fold under them). */
export const SELF_DESCRIBED = new Set([
  "Bash",
  "Read",
  "Edit",
  "MultiEdit",
  "Write",
  "NotebookEdit",
  "Glob",
  "Grep",
  "WebFetch",
  "WebSearch",
  "apply_patch",
]);

/** The row's state: a call without a result is open until its message ends. */
export function toolState(
  call: ToolCall,
  message: "running" | "waiting_input" | "completed" | "failed" | "cancelled" | "other",
): ToolState {
  // A run that was stopped: an open call, or one Claude Code answered "interrupted", stopped.
  if (message === "cancelled" && (!call.result || call.result.isError)) return "stopped";
  if (call.result) return call.result.isError ? "error" : "done";
  if (message === "failed") return "failed";
  if (message === "completed") return "done";
  if (message === "waiting_input") return "waiting";
  return "running";
}

/** The one-line parts after the tool's name: `["npm test", "exit 0", "3.2 s"]`. */
export function summaryParts(
  call: ToolCall,
  root: string | null,
  state: ToolState | null = null,
): string[] {
  const input = record(call.input);
  // A stopped call's outcome is the word "stopped", not the interruption's error.
  const result = state === "stopped" ? null : call.result;
  const parts: string[] = [];
  const path = str(input.file_path) ?? str(input.notebook_path);
  switch (call.name) {
    case "Bash": {
      const command = str(input.command);
      if (command) parts.push(oneLine(commandText(command, root), 60));
      if (result) {
        const code = exitCodeOf(result);
        parts.push(code === null ? "failed" : `exit ${code}`);
      }
      break;
    }
    case "Read":
      if (path) parts.push(relativePath(path, root));
      if (typeof input.offset === "number") {
        const from = input.offset;
        parts.push(
          typeof input.limit === "number"
            ? `lines ${from}–${from + input.limit - 1}`
            : `from ${from}`,
        );
      }
      break;
    case "Edit":
    case "MultiEdit":
    case "NotebookEdit":
    case "apply_patch": {
      const diff = diffOf(call, root);
      if (diff?.path) parts.push(diff.path);
      else if (path) parts.push(relativePath(path, root));
      if (diff) parts.push(`+${diff.added} −${diff.removed}`);
      break;
    }
    case "Write": {
      if (path) parts.push(relativePath(path, root));
      if (result && !result.isError && /created/i.test(result.summary)) parts.push("(new)");
      else if (typeof input.content === "string") {
        const lines = input.content.replace(/\n$/, "").split("\n").length;
        parts.push(`${lines} line${lines === 1 ? "" : "s"}`);
      }
      break;
    }
    case "Glob":
    case "Grep": {
      const pattern = str(input.pattern);
      if (pattern) parts.push(oneLine(pattern, 50));
      const where = str(input.path);
      if (where) parts.push(`in ${relativePath(where, root)}`);
      break;
    }
    case "WebFetch":
      if (str(input.url)) parts.push(oneLine(String(input.url), 60));
      break;
    case "WebSearch":
      if (str(input.query)) parts.push(oneLine(String(input.query), 60));
      break;
    case "Task":
    case "Agent":
      if (str(input.description)) parts.push(oneLine(String(input.description), 60));
      break;
    case "TodoWrite":
      if (Array.isArray(input.todos)) parts.push(`${input.todos.length} to-dos`);
      break;
    default: {
      const first = Object.values(input).find((v): v is string => typeof v === "string");
      if (first) parts.push(oneLine(relativeText(first, root), 60));
    }
  }
  if (result?.isError && call.name !== "Bash") parts.push("failed");
  // How long it took, when that says something: a command, or anything slow.
  const ms = result?.durationMs;
  if (ms !== undefined && (call.name === "Bash" ? ms >= 100 : ms >= 2000)) {
    parts.push(formatDuration(ms));
  }
  return parts;
}

/** What the agent is doing while this tool runs: "Running npm test". */
export function activityOf(call: ToolCall, root: string | null): string {
  const input = record(call.input);
  const path = str(input.file_path) ?? str(input.notebook_path);
  const file = path ? relativePath(path, root) : null;
  switch (call.name) {
    case "Bash": {
      const command = str(input.command);
      return command ? `Running ${oneLine(commandText(command, root), 50)}` : "Running a command";
    }
    case "Read":
      return file ? `Reading ${file}` : "Reading";
    case "Edit":
    case "MultiEdit":
    case "NotebookEdit":
    case "apply_patch":
      return file ? `Editing ${file}` : "Editing";
    case "Write":
      return file ? `Writing ${file}` : "Writing a file";
    case "Glob":
    case "Grep":
      return "Searching the files";
    case "WebFetch":
    case "WebSearch":
      return "Searching the web";
    case "Task":
    case "Agent":
      return "Running a sub-agent";
    default:
      return `Using ${call.name}`;
  }
}
