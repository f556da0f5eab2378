// The Claude Code sessions already on this machine for its projects (started in a terminal, not
// through us): listed and read, never imported or changed. Claude keeps each session as
// `<config dir>/projects/<cwd with every non-alphanumeric replaced by '-'>/<session id>.jsonl`.
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  boundBlocks,
  type DeviceResult,
  LocalSessionId,
  type LocalSession,
  MAX_LISTED_SESSIONS,
  MAX_TRANSCRIPT_BYTES,
  MAX_TRANSCRIPT_ENTRIES,
  type Project,
  type TranscriptEntry,
} from "@wegent/protocol";

/** Larger session files are read only in part (the newest part for transcripts). */
const MAX_READ_BYTES = 8 * 1024 * 1024;
/** A listing reads each file's start only: 50 sessions must answer within the request timeout. */
const LIST_READ_BYTES = 1024 * 1024;
const TITLE_CHARS = 120;

export function sessionDir(configDir: string, cwd: string): string {
  return join(configDir, "projects", cwd.replace(/[^a-zA-Z0-9]/g, "-"));
}

/** The file of a session started in `cwd`; the id is checked so it can never be a path. */
export function sessionFile(configDir: string, cwd: string, sessionId: string): string {
  if (!LocalSessionId.safeParse(sessionId).success) return join(configDir, "projects", "-invalid-");
  return join(sessionDir(configDir, cwd), `${sessionId}.jsonl`);
}

interface Parsed {
  title: string;
  entries: TranscriptEntry[];
}

type Line = {
  type?: unknown;
  isSidechain?: unknown;
  isMeta?: unknown;
  summary?: unknown;
  timestamp?: unknown;
  message?: { id?: unknown; role?: unknown; content?: unknown };
};

function textOf(content: unknown, role: "user" | "assistant"): string | null {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  const parts: string[] = [];
  for (const block of content as { type?: unknown; text?: unknown; name?: unknown }[]) {
    if (block?.type === "text" && typeof block.text === "string") parts.push(block.text);
    else if (role === "assistant" && block?.type === "tool_use" && typeof block.name === "string")
      parts.push(`[${block.name}]`);
  }
  return parts.length > 0 ? parts.join("\n") : null;
}

/** The conversation in a session file: user prompts and assistant replies, in order. */
export function parseTranscript(raw: string): Parsed {
  const entries: TranscriptEntry[] = [];
  let summary: string | null = null;
  let lastAssistantId: unknown = null;
  for (const lineText of raw.split("\n")) {
    if (!lineText.trim()) continue;
    let line: Line;
    try {
      line = JSON.parse(lineText) as Line;
    } catch {
      continue; // a partial last line while Claude writes, or a line cut by the read limit
    }
    if (line.type === "summary" && typeof line.summary === "string") summary ??= line.summary;
    if ((line.type !== "user" && line.type !== "assistant") || line.isSidechain === true) continue;
    if (line.isMeta === true) continue;
    const role = line.type;
    const text = textOf(line.message?.content, role);
    if (text === null || text.trim() === "") continue;
    const at = typeof line.timestamp === "string" ? line.timestamp : null;
    const previous = entries[entries.length - 1];
    // Claude writes one line per content block of a reply; they share the message id.
    if (
      role === "assistant" &&
      previous?.role === "assistant" &&
      line.message?.id === lastAssistantId
    ) {
      previous.text += `\n${text}`;
      continue;
    }
    lastAssistantId = role === "assistant" ? line.message?.id : null;
    entries.push({ role, text, at });
  }
  const firstPrompt = entries.find((e) => e.role === "user")?.text ?? "";
  const title = (summary ?? firstPrompt).replace(/\s+/g, " ").trim().slice(0, TITLE_CHARS);
  return { title: title || "(untitled session)", entries };
}

async function readCapped(path: string, fromEnd: boolean, cap = MAX_READ_BYTES): Promise<string> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, cap);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, fromEnd ? size - length : 0);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

interface Candidate {
  id: string;
  project: Project;
  path: string;
  mtime: number;
}

async function candidates(configDir: string, projects: readonly Project[]): Promise<Candidate[]> {
  const found: Candidate[] = [];
  for (const project of projects) {
    const dir = sessionDir(configDir, project.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith(".jsonl")) continue;
      const id = name.slice(0, -".jsonl".length);
      if (!LocalSessionId.safeParse(id).success) continue;
      const info = await stat(join(dir, name)).catch(() => null);
      if (info?.isFile()) found.push({ id, project, path: join(dir, name), mtime: info.mtimeMs });
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime);
}

function summaryOf(c: Candidate, parsed: Parsed): LocalSession {
  return {
    id: c.id,
    projectId: c.project.id,
    title: parsed.title,
    updatedAt: new Date(c.mtime).toISOString(),
    messageCount: parsed.entries.length,
    runtime: "claude-code",
  };
}

export async function listSessions(
  configDir: string,
  projects: readonly Project[],
): Promise<DeviceResult<"sessions.list">> {
  const newest = (await candidates(configDir, projects)).slice(0, MAX_LISTED_SESSIONS);
  const sessions: LocalSession[] = [];
  for (const c of newest) {
    // For a session over 1 MiB the count covers its first MiB (a lower bound).
    const parsed = parseTranscript(
      await readCapped(c.path, false, LIST_READ_BYTES).catch(() => ""),
    );
    // Sessions with no conversation (e.g. only settings lines) are not worth continuing.
    if (parsed.entries.length > 0) sessions.push(summaryOf(c, parsed));
  }
  return { sessions };
}

/** The session and its transcript (newest entries kept within the caps), or null. */
export async function readSession(
  configDir: string,
  projects: readonly Project[],
  sessionId: string,
): Promise<DeviceResult<"sessions.get"> | null> {
  const found = (await candidates(configDir, projects)).find((c) => c.id === sessionId);
  if (!found) return null;
  const parsed = parseTranscript(await readCapped(found.path, true));
  return { session: summaryOf(found, parsed), ...capTranscript(parsed.entries) };
}

/** The newest entries within MAX_TRANSCRIPT_ENTRIES and MAX_TRANSCRIPT_BYTES, oldest first. */
export function capTranscript(entries: readonly TranscriptEntry[]): {
  messages: TranscriptEntry[];
  truncated: boolean;
} {
  const kept: TranscriptEntry[] = [];
  let bytes = 0;
  for (let i = entries.length - 1; i >= 0 && kept.length < MAX_TRANSCRIPT_ENTRIES; i--) {
    const entry = entries[i]!;
    // As it travels: JSON escapes (control characters take 6 bytes) count against the cap,
    // and so do a reply's steps (its tool calls, their output and diffs).
    const size = Buffer.byteLength(JSON.stringify(entry.text), "utf8") + blocksBytes(entry);
    if (bytes + size > MAX_TRANSCRIPT_BYTES) {
      if (kept.length === 0) {
        // Even all escaped (6 bytes a character) this stays within the cap.
        kept.push({
          ...entry,
          text: truncateBytes(entry.text, MAX_TRANSCRIPT_BYTES / 8),
          ...(entry.blocks ? { blocks: boundBlocks(entry.blocks, MAX_TRANSCRIPT_BYTES / 8) } : {}),
        });
      }
      break;
    }
    bytes += size;
    kept.push(entry);
  }
  kept.reverse();
  return { messages: kept, truncated: kept.length < entries.length };
}

const blocksBytes = (entry: TranscriptEntry): number =>
  entry.blocks ? Buffer.byteLength(JSON.stringify(entry.blocks), "utf8") : 0;

function truncateBytes(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, "utf8").subarray(0, maxBytes - 16);
  return `${buffer.toString("utf8").replace(/\uFFFD$/, "")} […]`;
}
