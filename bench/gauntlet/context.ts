// What a gauntlet scenario gets: the running platform, the fake model, and a fresh user. A
// scenario returns its figure (one line) or throws with what went wrong.
import type { TaskWithMessages } from "@wegent/protocol";
import type { FakeModel } from "../../e2e/fake-model/server";
import { api, type ExecutorProcess, type Platform, startExecutor } from "../../e2e/harness";
import type { LiveFrame } from "@wegent/protocol";
import type { BenchUser } from "../lib/platform";

export interface GauntletContext {
  platform: Platform;
  fake: FakeModel;
  /** Users the scenario made; each is checked for leftovers afterwards. */
  users: BenchUser[];
  newUser(): Promise<BenchUser>;
  /** Processes to stop after the scenario, pass or fail. */
  executors: ExecutorProcess[];
  cleanups: (() => Promise<void> | void)[];
}

export interface Scenario {
  name: string;
  run(ctx: GauntletContext): Promise<string>;
}

export class ScenarioFailure extends Error {}

export function expectThat(ok: boolean, what: string): asserts ok {
  if (!ok) throw new ScenarioFailure(what);
}

export type Created = TaskWithMessages;
export type TaskDetail = TaskWithMessages;

export async function createTask(
  origin: string,
  user: BenchUser,
  message: string,
  deviceId: string,
): Promise<{ taskId: string; messageId: string }> {
  const res = await api<Created>(origin, "POST", "/api/tasks", {
    cookie: user.session.cookie,
    body: { message, target: { deviceId } },
  });
  expectThat(
    res.status === 201,
    `POST /api/tasks answered ${res.status} ${JSON.stringify(res.body)}`,
  );
  const assistant = res.body.messages.find((m) => m.role === "assistant");
  expectThat(assistant !== undefined, "POST /api/tasks returned no assistant message");
  return { taskId: res.body.task.id, messageId: assistant.id };
}

export async function taskDetail(origin: string, user: BenchUser, taskId: string) {
  return (
    await api<TaskDetail>(origin, "GET", `/api/tasks/${taskId}`, { cookie: user.session.cookie })
  ).body;
}

export function launchExecutor(
  ctx: GauntletContext,
  user: BenchUser,
  extra: { origin?: string; deviceId?: string } = {},
): ExecutorProcess {
  const ex = startExecutor({
    origin: extra.origin ?? ctx.platform.origin,
    token: user.token,
    modelUrl: ctx.fake.url,
    ...(extra.deviceId ? { deviceId: extra.deviceId } : {}),
  });
  ctx.executors.push(ex);
  return ex;
}

/**
 * Checks what the browser saw of one message: each output seq exactly once, in order, and the
 * deltas' text equal to `expected` byte for byte.
 */
export function checkStream(frames: LiveFrame[], messageId: string, expected: string): string {
  const deltas = frames.filter(
    (f): f is Extract<LiveFrame, { type: "message:delta" }> =>
      f.type === "message:delta" && f.messageId === messageId,
  );
  const seqs = deltas.map((f) => f.seq);
  for (const [i, s] of seqs.entries()) {
    expectThat(s === i + 1, `live seqs not 1..n once in order: position ${i} has seq ${s}`);
  }
  const text = deltas.map((f) => (f.event.kind === "text" ? f.event.delta : "")).join("");
  expectThat(
    text === expected,
    `streamed text differs: got ${text.length} chars ${JSON.stringify(text.slice(0, 80))}…, expected ${expected.length}`,
  );
  return `${deltas.length} deltas, ${text.length} chars identical`;
}

/** A slow scripted reply: `n` numbered words, one per `delayMs`. */
export function slowReply(ctx: GauntletContext, prompt: string, n: number, delayMs: number) {
  const words = Array.from({ length: n }, (_, i) => `w${i} `);
  ctx.fake.on(prompt, [{ blocks: [{ type: "text", deltas: words }], delayMs }]);
  return words.join("");
}
