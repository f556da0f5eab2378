// One Codex thread's transcript ("On this device" → a thread): `thread/read` with its turns
// from a short-lived `codex app-server` over the owner's CODEX_HOME. Only a thread whose folder
// is in an offered project is read; any other is unknown (null), as for Claude's sessions.
import type { LocalSession, Project, TranscriptEntry } from "@wegent/protocol";
import { z } from "zod";
import type { ThreadReadParams } from "./app-server-protocol";
import { projectOf, titleOf, withAppServer } from "./threads";

const Part = z.looseObject({ type: z.string(), text: z.string().optional() });
const Item = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  content: z.array(Part).optional(),
  startedAtMs: z.number().nullable().optional(),
});
const Read = z.looseObject({
  thread: z.looseObject({
    id: z.string().min(1).max(100),
    preview: z.string(),
    name: z.string().nullable().optional(),
    cwd: z.string(),
    updatedAt: z.number(),
    turns: z
      .array(
        z.looseObject({
          items: z.array(z.unknown()),
          startedAt: z.number().nullable().optional(),
        }),
      )
      .optional(),
  }),
});

export interface CodexThread {
  session: LocalSession;
  /** Every user and agent message, oldest first (the caller caps them). */
  entries: TranscriptEntry[];
}

function entryOf(raw: unknown, turnStartedAt: number | null): TranscriptEntry | null {
  const item = Item.safeParse(raw);
  if (!item.success) return null;
  const ms = item.data.startedAtMs ?? (turnStartedAt === null ? null : turnStartedAt * 1000);
  const at = ms === null ? null : new Date(ms).toISOString();
  if (item.data.type === "userMessage") {
    const text = (item.data.content ?? [])
      .map((p) => (p.type === "text" ? (p.text ?? "") : ""))
      .join("")
      .trim();
    return text ? { role: "user", text, at } : null;
  }
  if (item.data.type === "agentMessage") {
    const text = (item.data.text ?? "").trim();
    return text ? { role: "assistant", text, at } : null;
  }
  return null;
}

/** The thread with its messages, or null when Codex does not know it or it is not offered. */
export async function readCodexThread(
  exe: string,
  env: Record<string, string | undefined>,
  projects: readonly Project[],
  threadId: string,
  timeoutMs = 8_000,
): Promise<CodexThread | null> {
  if (projects.length === 0) return null;
  return withAppServer(exe, env, timeoutMs, async (rpc) => {
    const params: ThreadReadParams = { threadId, includeTurns: true };
    let answer: unknown;
    try {
      answer = await rpc.request("thread/read", params);
    } catch {
      return null; // no such thread (Codex answers with an error)
    }
    const { thread } = Read.parse(answer);
    const project = projectOf(thread.cwd, projects);
    if (!project || thread.id !== threadId) return null;
    const entries = (thread.turns ?? []).flatMap((turn) =>
      turn.items.flatMap((item) => entryOf(item, turn.startedAt ?? null) ?? []),
    );
    return {
      session: {
        id: thread.id,
        projectId: project.id,
        title: titleOf(thread.name, thread.preview),
        updatedAt: new Date(thread.updatedAt * 1000).toISOString(),
        messageCount: entries.length,
        runtime: "codex",
      },
      entries,
    };
  });
}

/** The folder a thread was made in (its `cwd`), or null when Codex does not know it. */
export async function codexThreadDir(
  exe: string,
  env: Record<string, string | undefined>,
  threadId: string,
  timeoutMs = 8_000,
): Promise<string | null> {
  return withAppServer(exe, env, timeoutMs, async (rpc) => {
    const params: ThreadReadParams = { threadId, includeTurns: false };
    const answer = await rpc.request("thread/read", params).catch(() => null);
    const read = Read.safeParse(answer);
    return read.success && read.data.thread.id === threadId ? read.data.thread.cwd : null;
  });
}
