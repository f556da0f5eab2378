import type { AnswerBlock, InputAnswer, InputOutcome } from "@wegent/protocol";
import type { InputRow } from "./input-store";

// How an answered request reads in the reply's transcript: what was asked, what was chosen, by
// whom and when. Built once, when the hub resolves the request, and stored with the output.

const MAX_SUBJECT = 300;

/** What the request was about, in one line: the command, the file, the question, the plan. */
export function subjectOf(row: Pick<InputRow, "kind" | "tool" | "input" | "questions">): string {
  if (row.kind === "question") {
    return oneLine((row.questions ?? []).map((q) => q.question).join(" · "));
  }
  if (row.kind === "plan") return "the plan";
  const input = (row.input ?? {}) as Record<string, unknown>;
  for (const key of ["command", "file_path", "notebook_path", "path", "url", "pattern"]) {
    const value = input[key];
    if (typeof value === "string" && value.trim()) return oneLine(value);
  }
  return row.tool;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_SUBJECT ? `${line.slice(0, MAX_SUBJECT - 1)}…` : line;
}

/** The transcript's record of an answer; `answer` is the person's (absent when it expired). */
export function answerBlock(
  row: InputRow,
  outcome: InputOutcome,
  answer: InputAnswer | null,
  by: string | null,
  at: number,
): AnswerBlock {
  const block: AnswerBlock = {
    type: "input_answer",
    requestId: row.requestId,
    kind: row.kind,
    tool: row.tool,
    subject: subjectOf(row),
    outcome,
    by,
    at: new Date(at).toISOString(),
  };
  if (answer && "answers" in answer) block.answers = answer.answers;
  if (answer && "behavior" in answer) {
    if (answer.remember) block.remember = answer.remember;
    if (answer.behavior === "deny" && answer.message) block.note = answer.message;
  }
  return block;
}
