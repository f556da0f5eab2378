import { type AnswerBlock, answerVerdict } from "@wegent/protocol";
import { relativeText } from "../../lib/tool-summary";
import { fullDate } from "../../lib/time";

/** The owner's answer to a request, where the reply was: "Allowed once · Bash · npm test · alice, 22:41". */
export function AnswerRow(props: { answer: AnswerBlock; root: string | null }) {
  const { answer } = props;
  const refused = answer.outcome === "denied" || answer.outcome === "expired";
  const time = new Date(answer.at);
  const clock = Number.isNaN(time.getTime())
    ? answer.at
    : time.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return (
    <div
      className={`answer-row ${refused ? "refused" : "allowed"}`}
      data-testid="answer-row"
      data-outcome={answer.outcome}
    >
      <span className="answer-mark" aria-hidden="true" />
      <strong>{answerVerdict(answer)}</strong>
      <span className="muted"> · {answer.tool} · </span>
      <code className="answer-subject">{relativeText(answer.subject, props.root)}</code>
      <span className="muted">
        {" · "}
        {answer.by ? `by ${answer.by}` : "nobody answered"},{" "}
        <time dateTime={answer.at} title={fullDate(answer.at)}>
          {clock}
        </time>
      </span>
      {Object.entries(answer.answers ?? {}).map(([question, choice]) => (
        <div key={question} className="answer-choice">
          {question} → <strong>{choice}</strong>
        </div>
      ))}
      {answer.note ? <blockquote className="answer-note">{answer.note}</blockquote> : null}
    </div>
  );
}
