// Where the last reply's time went, in one line under the task header (docs/observability.md).
import { type Message, stagesLine } from "@wegent/protocol";

export function StageLine(props: { messages: readonly Message[] }) {
  const last = props.messages.findLast((m) => m.role === "assistant" && m.stages);
  if (!last?.stages) return null;
  return (
    <p
      className="task-stages muted"
      data-testid="task-stages"
      title="The last reply: since its device's hub got it"
    >
      {stagesLine(last.stages)}
    </p>
  );
}
