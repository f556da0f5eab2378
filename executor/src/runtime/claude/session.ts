// One task's live Claude Code session: a Query fed through the SDK's streaming input, so the
// owner's messages can go into it while it works, and a follow-up can go into the same process
// after a reply (kept warm for `keepWarmSeconds`) instead of starting Claude Code again.
//
// Attribution: one assistant message (a "reply") covers every turn from the message that
// started it until a turn ends with nothing left waiting. A message the owner sends while the
// reply runs is held here and goes into the session at the next turn boundary (the result of
// the running turn), as Claude Code queues what is typed while it works; the reply emits a
// `user_message` event where it was taken and goes on. With `interrupt` the running turn is
// interrupted (not killed) and the held messages go in as soon as it has stopped.
import type { ChildProcess } from "node:child_process";
import type {
  Query,
  SDKMessage,
  SDKResultMessage,
  SDKUserMessage,
} from "@anthropic-ai/claude-agent-sdk";
import type { ProgressEvent, Usage } from "@wegent/protocol";
import { ReplyStream } from "./events";
import { planFileWritten } from "./plan";
import type { LaunchPlan } from "../launcher";
import { killTree, listDescendants, processRef } from "../../system/process-tree";
import type { RunRequest } from "../types";

/** Most messages one reply holds (the API refuses the next with 429 `queue_full`). */
export const MAX_HELD_MESSAGES = 10;

/** The prompt the SDK reads: messages pushed one by one, ended by `close()`. */
export class InputStream implements AsyncIterable<SDKUserMessage> {
  private readonly items: SDKUserMessage[] = [];
  private waiter: ((result: IteratorResult<SDKUserMessage>) => void) | null = null;
  private closed = false;

  push(message: SDKUserMessage): void {
    if (this.closed) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter({ value: message, done: false });
    } else this.items.push(message);
  }

  close(): void {
    this.closed = true;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<SDKUserMessage> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiter = resolve));
      },
    };
  }
}

/** A user message for the session: one text block per message the owner sent. */
export function userMessage(texts: string[]): SDKUserMessage {
  return {
    type: "user",
    message: { role: "user", content: texts.map((text) => ({ type: "text", text })) },
    parent_tool_use_id: null,
  } as SDKUserMessage;
}

export interface HeldMessage {
  userMessageId: string;
  text: string;
}

/** What a reply's turns add up to when the last one ends. */
export type ReplyEnd =
  | { ok: true; result: SDKResultMessage | null; usage: Usage | null }
  | { ok: false; result: SDKResultMessage | null; error: unknown };

function addUsage(sum: Usage | null, result: SDKResultMessage): Usage {
  const u = result.usage;
  return {
    inputTokens: (sum?.inputTokens ?? 0) + u.input_tokens,
    outputTokens: (sum?.outputTokens ?? 0) + u.output_tokens,
    cacheReadTokens: (sum?.cacheReadTokens ?? 0) + (u.cache_read_input_tokens ?? 0),
    cacheWriteTokens: (sum?.cacheWriteTokens ?? 0) + (u.cache_creation_input_tokens ?? 0),
  };
}

/** One assistant message: the turns of the session from its prompt until nothing waits. */
export class Reply {
  readonly stream: ReplyStream;
  private held: HeldMessage[] = [];
  private interrupt: Promise<unknown> | null = null;
  private usage: Usage | null = null;
  private resolveEnd: (end: ReplyEnd) => void = () => undefined;
  readonly ended: Promise<ReplyEnd>;
  private over = false;

  constructor(
    readonly request: RunRequest,
    private readonly session: LiveSession,
    emit: (event: ProgressEvent) => void,
    /** Every message of the session while this reply runs (null: other output, e.g. stderr). */
    private readonly observe: (message: SDKMessage | null) => void = () => undefined,
  ) {
    this.stream = new ReplyStream(emit);
    this.emit = emit;
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
  }

  private readonly emit: (event: ProgressEvent) => void;

  get isOver(): boolean {
    return this.over;
  }

  /** Holds a message for the next turn boundary; with `interrupt`, makes that boundary now. */
  queue(message: HeldMessage, interrupt: boolean): "queued" | "full" | "ended" {
    if (this.over) return "ended";
    if (this.held.some((m) => m.userMessageId === message.userMessageId)) return "queued";
    if (this.held.length >= MAX_HELD_MESSAGES) return "full";
    this.held.push(message);
    if (interrupt && !this.interrupt) {
      this.interrupt = this.session.query.interrupt().catch(() => undefined);
    }
    return "queued";
  }

  /** Takes a held message back before it goes in; false once taken (or unknown). */
  withdraw(userMessageId: string): boolean {
    const before = this.held.length;
    this.held = this.held.filter((m) => m.userMessageId !== userMessageId);
    return this.held.length !== before;
  }

  /** Messages still held (dropped when the reply fails or is stopped). */
  get waiting(): readonly HeldMessage[] {
    return this.held;
  }

  /** A sign of life that is not a message (the process wrote to stderr). */
  alive(): void {
    if (!this.over) this.observe(null);
  }

  message(message: SDKMessage): void {
    if (this.over) return;
    this.observe(message);
    this.stream.handle(message);
  }

  result(result: SDKResultMessage): void {
    if (this.over) return;
    this.observe(result);
    const succeeded = result.subtype === "success" && !result.is_error;
    if (succeeded) this.usage = addUsage(this.usage, result);
    const interrupted = this.interrupt;
    if (interrupted) {
      // The turn the owner interrupted: whatever it says, the steer goes in now.
      this.interrupt = null;
      void interrupted.then(() => this.deliver());
      return;
    }
    if (!succeeded) {
      this.finish({ ok: false, result, error: null });
      return;
    }
    if (this.held.length > 0) {
      this.deliver();
      return;
    }
    this.finish({ ok: true, result, usage: this.usage });
  }

  /** The session ended under the reply (process exit, error). */
  gone(error: unknown): void {
    this.finish({ ok: false, result: null, error });
  }

  private deliver(): void {
    if (this.over) return;
    const batch = this.held.splice(0);
    if (batch.length === 0) {
      // An interrupt whose message was withdrawn meanwhile: the reply ends with the turn.
      this.finish({ ok: true, result: null, usage: this.usage });
      return;
    }
    for (const m of batch) {
      this.emit({ kind: "user_message", userMessageId: m.userMessageId, text: m.text });
    }
    this.session.send(batch.map((m) => m.text));
  }

  private finish(end: ReplyEnd): void {
    if (this.over) return;
    this.over = true;
    this.resolveEnd(end);
  }
}

/**
 * The live Query of one task and the process under it. Its output is read by one loop for
 * the session's whole life and handed to the reply that runs now (if any).
 */
export class LiveSession {
  readonly input = new InputStream();
  query!: Query;
  sessionId: string | null;
  reply: Reply | null = null;
  child: ChildProcess | null = null;
  stderrTail = "";
  closed = false;
  /** The plan file this session wrote (its name), for plan mode's card. */
  planFile: string | null = null;
  /** When the current reply started (plan mode reads the plan written since). */
  replyStartedAt = 0;
  /** When it last finished a reply (for closing the oldest idle one first). */
  idleSince = 0;
  private warmTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    readonly taskId: string,
    /** What the process was started with; a message asking for something else restarts it. */
    readonly key: string,
    readonly plan: LaunchPlan,
    private readonly abort: AbortController,
    resumeSessionId: string | null,
    private readonly onGone: (session: LiveSession) => void,
  ) {
    this.sessionId = resumeSessionId;
  }

  start(query: Query): void {
    this.query = query;
    void this.read();
  }

  private async read(): Promise<void> {
    let thrown: unknown = null;
    try {
      for await (const message of this.query) {
        if ("session_id" in message && typeof message.session_id === "string") {
          this.sessionId = message.session_id;
        }
        this.planFile = planFileWritten(message) ?? this.planFile;
        const reply = this.reply;
        if (!reply) continue;
        if (message.type === "result") reply.result(message);
        else reply.message(message);
      }
    } catch (error) {
      thrown = error;
    }
    this.closed = true;
    this.reply?.gone(thrown ?? new Error("Claude Code ended the session."));
    this.clearWarmTimer();
    this.onGone(this);
  }

  send(texts: string[]): void {
    this.input.push(userMessage(texts));
  }

  get busy(): boolean {
    return this.reply !== null && !this.reply.isOver;
  }

  /** After a reply: stays alive for `seconds` (0: closes now), holding no slot. */
  keepWarm(seconds: number): void {
    this.reply = null;
    this.idleSince = Date.now();
    this.clearWarmTimer();
    if (seconds <= 0) {
      void this.close();
      return;
    }
    this.warmTimer = setTimeout(() => void this.close(), seconds * 1000);
    this.warmTimer.unref();
  }

  clearWarmTimer(): void {
    if (this.warmTimer) clearTimeout(this.warmTimer);
    this.warmTimer = null;
  }

  /**
   * Ends the session: stdin closed so Claude Code finishes writing its session file and exits;
   * after `graceMs` the SDK is aborted and the process tree killed. Everything the agent
   * started goes with it.
   */
  close(graceMs = 3000): Promise<void> {
    if (this.closing) return this.closing;
    this.clearWarmTimer();
    // No message goes into a session that is closing.
    this.closed = true;
    this.closing = (async () => {
      const proc = this.child;
      // Remembered with its start time: it may exit (and its pid be reused) meanwhile.
      const root = proc?.pid === undefined ? undefined : processRef(proc.pid);
      const seen = root === undefined ? [] : listDescendants(root);
      this.input.close();
      if (proc) await exited(proc, graceMs);
      this.abort.abort();
      if (root !== undefined) await killTree(root, seen);
      this.closed = true;
      await this.plan.dispose();
      this.onGone(this);
    })();
    return this.closing;
  }

  /** Stops at once (cancel, executor stop): interrupt, then kill the tree. */
  stop(interruptGraceMs: number): Promise<number> {
    this.clearWarmTimer();
    const proc = this.child;
    // Listed before anything dies: killed parents' children get re-parented.
    const root = proc?.pid === undefined ? undefined : processRef(proc.pid);
    const seen = root === undefined ? [] : listDescendants(root);
    return (async () => {
      await Promise.race([this.query.interrupt().catch(() => undefined), sleep(interruptGraceMs)]);
      this.input.close();
      this.abort.abort();
      const killed = root === undefined ? [] : await killTree(root, seen);
      this.closed = true;
      this.closing ??= this.plan.dispose();
      await this.closing;
      this.onGone(this);
      return killed.length;
    })();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when the process has exited, or after `ms`. */
export function exited(proc: ChildProcess, ms: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
