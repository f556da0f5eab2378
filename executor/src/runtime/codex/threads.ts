// Codex threads already on this machine ("On this device"): `thread/list` of a short-lived
// `codex app-server` over the owner's CODEX_HOME, for the offered projects' folders. Threads
// made by `codex exec`, the CLI, the IDE and app-server clients are listed alike.
import { spawn } from "node:child_process";
import { sep } from "node:path";
import { type LocalSession, MAX_LISTED_SESSIONS, type Project } from "@wegent/protocol";
import { z } from "zod";
import type { ThreadListParams } from "./app-server-protocol";
import { featureOverrides } from "./home";
import { AppServerRpc } from "./rpc";
import { entriesOf, readThread } from "./thread-items";

const Listed = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string().min(1).max(100),
      preview: z.string(),
      name: z.string().nullable().optional(),
      cwd: z.string(),
      updatedAt: z.number(),
    }),
  ),
});

export function projectOf(cwd: string, projects: readonly Project[]): Project | undefined {
  return projects.find((p) => cwd === p.path || cwd.startsWith(`${p.path}${sep}`));
}

export function titleOf(name: string | null | undefined, preview: string): string {
  const line = (name ?? "").trim() || preview.trim().split("\n")[0] || "Untitled";
  return line.slice(0, 300);
}

/**
 * Newest first, at most MAX_LISTED_SESSIONS; throws when Codex does not answer in time (well
 * within the hub's 10 s for a device request, so Claude's sessions still arrive).
 */
export async function listCodexThreads(
  exe: string,
  env: Record<string, string | undefined>,
  projects: readonly Project[],
  timeoutMs = 5_000,
): Promise<LocalSession[]> {
  if (projects.length === 0) return [];
  // Counting stops well before the app-server is killed, so the list itself still arrives.
  const deadline = Date.now() + timeoutMs * 0.6;
  return withAppServer(exe, env, timeoutMs, async (rpc) => {
    const params: ThreadListParams = {
      cwd: projects.map((p) => p.path),
      limit: MAX_LISTED_SESSIONS,
      // The default leaves out `codex exec` threads; sub-agents' threads stay out.
      sourceKinds: ["cli", "vscode", "exec", "appServer"],
    };
    const listed = Listed.parse(await rpc.request("thread/list", params));
    const offered = listed.data.filter((thread) => projectOf(thread.cwd, projects));
    // `thread/list` carries no count: each thread's turns are read, within what time is left.
    const counts = await countEntries(
      rpc,
      offered.map((thread) => thread.id),
      Math.max(0, deadline - Date.now()),
    );
    const sessions: LocalSession[] = [];
    for (const thread of offered) {
      const project = projectOf(thread.cwd, projects);
      if (!project) continue;
      sessions.push({
        id: thread.id,
        projectId: project.id,
        title: titleOf(thread.name, thread.preview),
        updatedAt: new Date(thread.updatedAt * 1000).toISOString(),
        messageCount: counts.get(thread.id) ?? null,
        runtime: "codex",
      });
    }
    return sessions.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  });
}

/**
 * A short-lived `codex app-server` over the owner's CODEX_HOME, initialized, for `use`;
 * killed after it, or after `timeoutMs` (then `use` fails).
 */
export async function withAppServer<T>(
  exe: string,
  env: Record<string, string | undefined>,
  timeoutMs: number,
  use: (rpc: AppServerRpc) => Promise<T>,
): Promise<T> {
  const child = spawn(exe, ["app-server", ...featureOverrides()], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stderr.resume();
  const rpc = new AppServerRpc(
    child,
    { notification: () => undefined, request: () => Promise.resolve({ decision: "decline" }) },
    () => undefined,
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    await rpc.request("initialize", {
      clientInfo: { name: "wegent", title: "Wegent", version: "0" },
      capabilities: { experimentalApi: true },
    });
    rpc.notify("initialized");
    return await use(rpc);
  } finally {
    clearTimeout(timer);
    child.stdin.end();
    child.kill("SIGKILL");
  }
}

/**
 * How many transcript entries each thread has (what reading it shows), read one by one
 * (a few at a time) until `budgetMs` is spent; a thread not counted by then is left out.
 */
export async function countEntries(
  rpc: AppServerRpc,
  threadIds: readonly string[],
  budgetMs: number,
  parallel = 4,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const queue = [...threadIds];
  let over = false;
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined && !over; id = queue.shift()) {
      try {
        const thread = await readThread(rpc, id, true);
        if (thread && !over) counts.set(id, entriesOf(thread.turns ?? []).length);
      } catch {
        // unreadable: no count
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      over = true;
      resolve();
    }, budgetMs);
  });
  await Promise.race([Promise.all(Array.from({ length: parallel }, worker)), budget]);
  clearTimeout(timer);
  over = true;
  return new Map(counts);
}
