// The usual start of an e2e file: a real platform (`wrangler dev`), the fake model, a signed-up
// user with an API token, and the executors the file starts, all stopped after the file.
import { afterAll, beforeAll } from "vitest";
import { type FakeModel, startFakeModel } from "./fake-model/server";
import type { TaskWithMessages } from "@wegent/protocol";
import {
  api,
  createToken,
  type ExecutorProcess,
  type Platform,
  type PlatformOptions,
  type Session,
  signUp,
  startPlatform,
  until,
} from "./harness";

export interface Scene {
  /** GET as the user; the body. */
  get<T>(path: string): Promise<T>;
  /** POST as the user (JSON, same origin). */
  post<T>(path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** The task once it has `messages` messages and the last one ended. */
  settled(taskId: string, messages: number, ms?: number): Promise<TaskWithMessages>;
  platform: Platform;
  fake: FakeModel;
  user: Session;
  /** An API token of the user (scope `user`), for executors and API calls. */
  token: string;
  /** Executors the file started: killed after it. */
  executors: ExecutorProcess[];
}

/** Set up in the file's first `beforeAll`; read its fields inside tests and later hooks. */
export function scene(username: string, options: PlatformOptions = {}): Scene {
  const s = { executors: [] as ExecutorProcess[] } as Scene;
  s.get = async <T>(path: string) =>
    (await api<T>(s.platform.origin, "GET", path, { cookie: s.user.cookie })).body;
  s.post = <T>(path: string, body?: unknown) =>
    api<T>(s.platform.origin, "POST", path, { cookie: s.user.cookie, body });
  s.settled = (taskId: string, messages: number, ms = 90_000) =>
    until(
      async () => {
        const d = await s.get<TaskWithMessages>(`/api/tasks/${taskId}`);
        const last = d.messages.at(-1);
        const ended = last && ["completed", "failed", "cancelled"].includes(last.status);
        return d.messages.length >= messages && ended ? d : undefined;
      },
      ms,
      `task ${taskId} to end`,
    );
  beforeAll(async () => {
    s.platform = await startPlatform(options);
    s.fake = await startFakeModel();
    s.user = await signUp(s.platform.origin, username);
    s.token = (await createToken(s.platform.origin, s.user)).token;
  }, 180_000);
  afterAll(async () => {
    for (const ex of s.executors) await ex.stop("SIGKILL");
    await s.fake?.close();
    await s.platform?.stop();
  });
  return s;
}
