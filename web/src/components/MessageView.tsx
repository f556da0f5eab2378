import { isTerminal, type MessageView as View } from "../state/messages";
import { ActivityLine, Transcript } from "./transcript/Transcript";
import { StatusBadge } from "./StatusBadge";
import { MessageUsage } from "./Usage";

export function UserMessage(props: { message: View; onRemove?: (() => void) | null }) {
  const { message } = props;
  const queued = message.status === "queued";
  return (
    <article
      className={`message user${queued ? " queued" : ""}`}
      data-testid="user-message"
      data-status={message.status}
      aria-label="Your message"
    >
      <p className="message-text">{message.content}</p>
      {queued && (
        <p className="muted queued-note" data-testid="queued-note">
          Waiting: the agent takes it when its current step ends.{" "}
          {props.onRemove && (
            <button
              type="button"
              className="quiet"
              data-testid="remove-queued"
              onClick={props.onRemove}
            >
              Remove
            </button>
          )}
        </p>
      )}
      {message.status === "cancelled" && (
        <p className="muted" data-testid="queued-cancelled">
          Not sent: the reply ended before the agent took it.
        </p>
      )}
    </article>
  );
}

export function AssistantMessage(props: {
  message: View;
  deviceName: string | null;
  onRetry: (() => void) | null;
}) {
  const { message } = props;
  const working = !isTerminal(message);
  return (
    <article
      className={`message assistant status-${message.status}`}
      data-testid="assistant-message"
      data-message-id={message.id}
      data-status={message.status}
      aria-busy={working}
      aria-label="Agent reply"
    >
      <header className="message-head">
        <StatusBadge status={message.status} />
        {props.deviceName && <span className="muted">on {props.deviceName}</span>}
        {message.status === "queued" && message.queuePosition !== null && (
          <span className="muted" data-testid="queue-position">
            #{message.queuePosition} in queue
          </span>
        )}
        {message.status === "queued" && message.queueReason && (
          <span className="muted" data-testid="queue-reason">
            {message.queueReason}
          </span>
        )}
      </header>
      <Transcript message={message} taskId={message.taskId} />
      {working && <ActivityLine message={message} taskId={message.taskId} />}
      {message.status === "failed" && (
        <div className="error" role="alert" data-testid="message-error">
          <p>{message.errorMessage ?? "The agent failed."}</p>
          {props.onRetry && (
            <button type="button" onClick={props.onRetry} data-testid="retry-button">
              Retry
            </button>
          )}
        </div>
      )}
      {message.status === "cancelled" && <p className="muted">Stopped.</p>}
      {!working && <MessageUsage message={message} />}
    </article>
  );
}
