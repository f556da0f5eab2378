import type { InputAnswer, InputOutcome, TaskInputAnswer } from "@wegent/protocol";
import type { InputRow } from "./input-store";

// What an answer to a request means, checked against the request: the rules in one place,
// apart from the hub's socket and alarm code.

export type AnswerCheck =
  | { ok: true; frame: TaskInputAnswer; outcome: InputOutcome }
  | { ok: false; status: 400 | 404 | 409 | 410; code: string; message: string };

export interface AnswerTarget {
  ownerId: string;
  taskId: string;
  messageId: string;
  requestId: string;
  answer: InputAnswer;
  /** Who answered (their username), recorded with the answer in the transcript. */
  answeredBy?: string;
}

export function checkAnswer(row: InputRow | null, target: AnswerTarget): AnswerCheck {
  if (
    !row ||
    row.ownerId !== target.ownerId ||
    row.taskId !== target.taskId ||
    row.messageId !== target.messageId
  ) {
    return {
      ok: false,
      status: 404,
      code: "input_not_found",
      message: "No such request is waiting in this task.",
    };
  }
  if (row.state === "answered") {
    return {
      ok: false,
      status: 409,
      code: "input_answered",
      message: "This request was already answered (perhaps in another tab).",
    };
  }
  if (row.state === "expired") {
    return {
      ok: false,
      status: 410,
      code: "input_expired",
      message: "This request expired unanswered, so the agent was told no.",
    };
  }
  const base = {
    type: "task:input-answer" as const,
    taskId: row.taskId,
    messageId: row.messageId,
    requestId: row.requestId,
  };
  const { answer } = target;
  if (row.kind === "question") {
    if (!("answers" in answer)) {
      if (answer.behavior === "deny") {
        const message = answer.message
          ? `The user declined to answer: ${answer.message}`
          : "The user declined to answer.";
        return { ok: true, frame: { ...base, behavior: "deny", message }, outcome: "denied" };
      }
      return {
        ok: false,
        status: 400,
        code: "input_mismatch",
        message:
          'This request is a question: answer with { "answers": { "<question>": "<label>" } }.',
      };
    }
    const asked = new Set((row.questions ?? []).map((q) => q.question));
    const unknown = Object.keys(answer.answers).find((q) => !asked.has(q));
    if (unknown !== undefined) {
      return {
        ok: false,
        status: 400,
        code: "invalid_answers",
        message: `"${unknown.slice(0, 200)}" is not one of the questions asked.`,
      };
    }
    const missing = [...asked].find((q) => !(q in answer.answers));
    if (missing !== undefined) {
      return {
        ok: false,
        status: 400,
        code: "invalid_answers",
        message: `Answer every question; "${missing.slice(0, 200)}" has no answer.`,
      };
    }
    return {
      ok: true,
      frame: { ...base, behavior: "allow", answers: answer.answers },
      outcome: "answered",
    };
  }
  if ("answers" in answer) {
    return {
      ok: false,
      status: 400,
      code: "input_mismatch",
      message: 'This request asks for permission: answer with { "behavior": "allow" | "deny" }.',
    };
  }
  if (answer.behavior === "allow") {
    return {
      ok: true,
      frame: {
        ...base,
        behavior: "allow",
        ...(answer.remember ? { remember: answer.remember } : {}),
      },
      outcome: "allowed",
    };
  }
  return {
    ok: true,
    frame: {
      ...base,
      behavior: "deny",
      message: answer.message
        ? `The user denied this tool call: ${answer.message}`
        : "The user denied this tool call.",
    },
    outcome: "denied",
  };
}

/** The hub's own answer when nobody answered in time. */
export function expiredAnswer(row: InputRow, waitedMs: number): TaskInputAnswer {
  const minutes = Math.max(1, Math.round(waitedMs / 60_000));
  return {
    type: "task:input-answer",
    taskId: row.taskId,
    messageId: row.messageId,
    requestId: row.requestId,
    behavior: "deny",
    message: `Nobody answered within ${minutes} minute${minutes === 1 ? "" : "s"}: the request expired, so this was denied. Do not retry it; say what you needed instead.`,
  };
}
