import { randomUUID } from "node:crypto";
import type { TaskInputAnswer, TaskInputRequest } from "@wegent/protocol";
import type { Logger } from "./log";
import type { InputDecision, InputQuestion } from "./runtime/types";

/** A request's tool input is shown on a card: a preview is enough. */
const MAX_REQUEST_INPUT_CHARS = 64 * 1024;
/** Tasks whose "allow for this task" choices are remembered (oldest forgotten first). */
const MAX_REMEMBERED_TASKS = 500;

interface OpenInput {
  frame: TaskInputRequest;
  done: (decision: InputDecision) => void;
}

/**
 * The agent's open requests for the user's input. Each waits until the hub answers (the user,
 * or a deny on expiry) or its run stops; they are re-sent after every registration, so a
 * reconnect loses none, and an answer that arrives twice is applied once.
 */
export class InputRequests {
  /** Requests waiting for the user, by requestId. */
  private readonly inputs = new Map<string, OpenInput>();
  /** Per task: tools the user allowed "for this task". */
  private readonly allowedTools = new Map<string, Set<string>>();

  constructor(
    private readonly log: Logger,
    private readonly send: ((frame: TaskInputRequest) => void) | undefined,
  ) {}

  /** Requests still waiting for an answer: re-sent after a registration. */
  open(): TaskInputRequest[] {
    return [...this.inputs.values()].map((open) => open.frame);
  }

  /** The user's answer (or the hub's deny). Unknown or already answered requests are ignored. */
  answer(frame: TaskInputAnswer): void {
    const open = this.inputs.get(frame.requestId);
    if (!open || open.frame.messageId !== frame.messageId) return;
    if (frame.behavior === "allow" && frame.remember === "task") {
      this.rememberTool(open.frame.taskId, open.frame.tool);
    }
    this.log.info("input answered", {
      taskId: frame.taskId,
      requestId: frame.requestId,
      behavior: frame.behavior,
    });
    open.done({
      behavior: frame.behavior,
      ...(frame.message ? { message: frame.message } : {}),
      ...(frame.remember ? { remember: frame.remember } : {}),
      ...(frame.answers ? { answers: frame.answers } : {}),
    });
  }

  private rememberTool(taskId: string, tool: string): void {
    const tools = this.allowedTools.get(taskId) ?? new Set<string>();
    tools.add(tool);
    this.allowedTools.delete(taskId);
    this.allowedTools.set(taskId, tools);
    if (this.allowedTools.size > MAX_REMEMBERED_TASKS) {
      const oldest = this.allowedTools.keys().next().value;
      if (oldest !== undefined) this.allowedTools.delete(oldest);
    }
  }

  /** Asks the user through the hub and waits; a stopped run answers itself with a deny. */
  ask(
    taskId: string,
    messageId: string,
    question: InputQuestion,
    signal: AbortSignal,
  ): Promise<InputDecision> {
    if (question.kind === "permission" && this.allowedTools.get(taskId)?.has(question.tool)) {
      return Promise.resolve<InputDecision>({ behavior: "allow" });
    }
    if (signal.aborted) {
      return Promise.resolve<InputDecision>({ behavior: "deny", message: "The run stopped." });
    }
    const request: TaskInputRequest = {
      type: "task:input-request",
      taskId,
      messageId,
      requestId: randomUUID(),
      kind: question.kind,
      tool: question.tool.slice(0, 200),
      input: boundInput(question.input),
      ...(question.questions ? { questions: question.questions } : {}),
      ...(question.title ? { title: question.title } : {}),
    };
    return new Promise<InputDecision>((resolve) => {
      const onAbort = () => done({ behavior: "deny", message: "The run stopped." });
      const done = (decision: InputDecision) => {
        this.inputs.delete(request.requestId);
        signal.removeEventListener("abort", onAbort);
        resolve(decision);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.inputs.set(request.requestId, { frame: request, done });
      this.log.info("asking the user", {
        taskId,
        requestId: request.requestId,
        kind: request.kind,
        tool: request.tool,
      });
      this.send?.(request);
    });
  }
}

function boundInput(input: Record<string, unknown>): unknown {
  const size = JSON.stringify(input)?.length ?? 0;
  if (size <= MAX_REQUEST_INPUT_CHARS) return input;
  // Keep the short fields (command, file_path) and say the rest was too long to show.
  const kept: Record<string, unknown> = { truncated: true, originalChars: size };
  for (const [key, value] of Object.entries(input)) {
    if (typeof value === "string" && value.length <= 4096) kept[key] = value;
    else if (typeof value === "string") kept[key] = `${value.slice(0, 4096)}… [truncated]`;
  }
  return kept;
}
