// The usual start of an e2e file: a real platform (`wrangler dev`), the fake model, a signed-up
// user with an API token, and the executors the file starts, all stopped after the file.
import { afterAll, beforeAll } from "vitest";
import { type FakeModel, startFakeModel } from "./fake-model/server";
import {
  createToken,
  type ExecutorProcess,
  type Platform,
  type PlatformOptions,
  type Session,
  signUp,
  startPlatform,
} from "./harness";

export interface Scene {
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
