// A Codex thread's stored turns as transcript entries: each user message, then the reply that
// followed with its steps as a task's reply shows them (text, each command with its output,
// each file change with its diff: the same blocks, from the same mapping as a live task).
import {
  type Block,
  blocksOf,
  MAX_ENTRY_BLOCKS,
  type ProgressEvent,
  type TranscriptEntry,
} from "@wegent/protocol";
import { z } from "zod";
import type { ThreadReadParams } from "./app-server-protocol";
import { ToolItem, toolResultOf, toolUseOf } from "./events";
import { type AppServerRpc, RpcError } from "./rpc";

/** A diff longer than this is cut in the transcript (its result still names the file). */
const MAX_DIFF_CHARS = 16 * 1024;
/** Between two agent messages of one reply, as between a Claude reply's text blocks. */
const SEPARATOR = "\n\n";

const Part = z.looseObject({ type: z.string(), text: z.string().optional() });
const Item = z.looseObject({
  type: z.string(),
  id: z.string().optional(),
  text: z.string().optional(),
  content: z.array(Part).optional(),
  status: z.string().optional(),
  durationMs: z.number().nullable().optional(),
  startedAtMs: z.number().nullable().optional(),
  completedAtMs: z.number().nullable().optional(),
});
const Turn = z.looseObject({
  items: z.array(z.unknown()),
  startedAt: z.number().nullable().optional(),
});
const Read = z.looseObject({
  thread: z.looseObject({
    id: z.string().min(1).max(100),
    preview: z.string(),
    name: z.string().nullable().optional(),
    cwd: z.string(),
    updatedAt: z.number(),
    turns: z.array(Turn).optional(),
  }),
});

const isoOf = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString();

function clipDiff(diff: string): string {
  return diff.length > MAX_DIFF_CHARS
    ? `${diff.slice(0, MAX_DIFF_CHARS - 20)}\n… (truncated)`
    : diff;
}

/** The events a stored command or file change stands for: its call, and its result if it ended. */
function toolEvents(raw: unknown): ProgressEvent[] {
  const parsed = ToolItem.safeParse(raw);
  if (!parsed.success) return [];
  const item: ToolItem = {
    ...parsed.data,
    ...(parsed.data.changes
      ? { changes: parsed.data.changes.map((c) => ({ ...c, diff: clipDiff(c.diff ?? "") })) }
      : {}),
  };
  const use = toolUseOf(item);
  if (!use) return [];
  if (item.status === "inProgress") return [use]; // cut off (the thread stopped mid-command)
  const timed = Item.safeParse(raw);
  const t = timed.success ? timed.data : null;
  const ms =
    t?.durationMs ??
    (t?.startedAtMs && t.completedAtMs ? Math.max(0, t.completedAtMs - t.startedAtMs) : 0);
  const result = toolResultOf(item, ms);
  return result ? [use, result] : [use];
}

/** A thread's turns as transcript entries: each user message, then the reply that followed. */
export function entriesOf(turns: readonly z.infer<typeof Turn>[]): TranscriptEntry[] {
  const entries: TranscriptEntry[] = [];
  let reply: { at: string | null; events: ProgressEvent[]; text: string } | null = null;
  const close = () => {
    if (!reply) return;
    let blocks: Block[] = blocksOf(reply.events);
    if (blocks.length > MAX_ENTRY_BLOCKS) {
      const left = blocks.length - (MAX_ENTRY_BLOCKS - 1);
      blocks = [{ type: "text", text: `[${left} earlier steps left out]` }, ...blocks.slice(left)];
    }
    if (blocks.length > 0) {
      const onlyText = blocks.every((b) => b.type === "text");
      entries.push({
        role: "assistant",
        text: reply.text,
        at: reply.at,
        ...(onlyText ? {} : { blocks }),
      });
    }
    reply = null;
  };
  for (const turn of turns) {
    const turnMs = turn.startedAt == null ? null : turn.startedAt * 1000;
    for (const raw of turn.items) {
      const parsed = Item.safeParse(raw);
      if (!parsed.success) continue;
      const item = parsed.data;
      const at = isoOf(item.startedAtMs ?? turnMs);
      if (item.type === "userMessage") {
        const text = (item.content ?? [])
          .map((p) => (p.type === "text" ? (p.text ?? "") : ""))
          .join("")
          .trim();
        if (!text) continue;
        close();
        entries.push({ role: "user", text, at });
        continue;
      }
      reply ??= { at, events: [], text: "" };
      // A proposed plan (Plan mode) is part of the reply, as in a live task.
      if (item.type === "agentMessage" || item.type === "plan") {
        const text = (item.text ?? "").trim();
        if (!text) continue;
        const delta = reply.text.length > 0 ? `${SEPARATOR}${text}` : text;
        reply.events.push({ kind: "text", offset: reply.text.length, delta });
        reply.text += delta;
      } else {
        reply.events.push(...toolEvents(raw));
      }
    }
  }
  close();
  return entries;
}

export type StoredThread = z.infer<typeof Read>["thread"];

/**
 * `thread/read` (with its turns or not); null when Codex does not know the thread (it answers
 * with an error). An unreadable answer or a closed app-server rejects.
 */
export async function readThread(
  rpc: AppServerRpc,
  threadId: string,
  includeTurns: boolean,
): Promise<StoredThread | null> {
  const params: ThreadReadParams = { threadId, includeTurns };
  let answer: unknown;
  try {
    answer = await rpc.request("thread/read", params);
  } catch (error) {
    if (error instanceof RpcError) return null;
    throw error;
  }
  return Read.parse(answer).thread;
}
