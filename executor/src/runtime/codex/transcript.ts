// One Codex thread's transcript ("On this device" → a thread): `thread/read` with its turns
// from a short-lived `codex app-server` over the owner's CODEX_HOME. Only a thread whose folder
// is in an offered project is read; any other is unknown (null), as for Claude's sessions.
import type { LocalSession, Project, TranscriptEntry } from "@wegent/protocol";
import { entriesOf, readThread } from "./thread-items";
import { projectOf, titleOf, withAppServer } from "./threads";

export interface CodexThread {
  session: LocalSession;
  /** Every user message and reply, oldest first (the caller caps them). */
  entries: TranscriptEntry[];
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
    const thread = await readThread(rpc, threadId, true);
    if (!thread) return null; // no such thread
    const project = projectOf(thread.cwd, projects);
    if (!project || thread.id !== threadId) return null;
    const entries = entriesOf(thread.turns ?? []);
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
    const thread = await readThread(rpc, threadId, false).catch(() => null);
    return thread?.id === threadId ? thread.cwd : null;
  });
}
