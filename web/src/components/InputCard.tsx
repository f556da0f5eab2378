import { useState, type FormEvent } from "react";
import { InputAnswered, type PendingInput, type Question } from "@wegent/protocol";
import { api } from "../api";
import { useAction } from "../lib/action";
import { useStore } from "../state/store";
import { DiffPreview } from "./DiffPreview";
import { renderMarkdown } from "../lib/markdown";

/** A request of the agent: a permission card or a question form. Answering closes it in every tab. */
export function InputCard(props: { taskId: string; request: PendingInput }) {
  const { request } = props;
  if (request.kind === "plan") return <PlanCard taskId={props.taskId} request={request} />;
  return request.kind === "question" && request.questions ? (
    <QuestionForm taskId={props.taskId} request={request} questions={request.questions} />
  ) : (
    <PermissionCard taskId={props.taskId} request={request} />
  );
}

/** Plan mode: the agent's plan, to approve (the run goes on) or to send back with words. */
function PlanCard(props: { taskId: string; request: PendingInput }) {
  const { request } = props;
  const { busy, error, answer } = useAnswer(props.taskId, request.requestId);
  const [words, setWords] = useState("");
  const plan = request.plan ?? "";
  return (
    <section
      className="input-card plan"
      data-testid="plan-card"
      data-request-id={request.requestId}
      aria-label="The agent's plan"
    >
      <header>
        <strong>The agent has a plan</strong> <Expiry at={request.expiresAt} />
      </header>
      <div
        className="plan-text markdown"
        data-testid="plan-text"
        dangerouslySetInnerHTML={{ __html: renderMarkdown(plan) }}
      />
      <div className="input-actions">
        <button
          type="button"
          className="primary"
          disabled={busy}
          data-testid="plan-approve"
          onClick={() => void answer({ behavior: "allow" })}
        >
          Approve
        </button>
      </div>
      <form
        className="deny-form"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void answer({
            behavior: "deny",
            message: words.trim() || "Keep planning: the plan is not approved yet.",
          });
        }}
      >
        <label>
          What should change?
          <input
            data-testid="plan-feedback"
            value={words}
            maxLength={2000}
            onChange={(e) => setWords(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy} data-testid="plan-keep">
          Keep planning
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function useAnswer(taskId: string, requestId: string) {
  const { dispatch } = useStore();
  // Answered: the card goes away; it stays busy until then, so it cannot be answered twice.
  const { busy, error, run } = useAction({ doneWhenSucceeded: true });
  async function answer(body: unknown) {
    await run(async () => {
      await api("POST", `/api/tasks/${taskId}/input/${requestId}`, InputAnswered, body);
      dispatch({ type: "input:answered", taskId, requestId });
    });
  }
  return { busy, error, answer };
}

function Expiry(props: { at: string }) {
  const time = new Date(props.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return <span className="muted">Unanswered by {time}, it is denied.</span>;
}

function PermissionCard(props: { taskId: string; request: PendingInput }) {
  const { request } = props;
  const { busy, error, answer } = useAnswer(props.taskId, request.requestId);
  const [denying, setDenying] = useState(false);
  const [message, setMessage] = useState("");
  const input = (request.input ?? {}) as Record<string, unknown>;
  return (
    <section
      className="input-card permission"
      data-testid="permission-card"
      data-request-id={request.requestId}
      aria-label={`Permission request: ${request.tool}`}
    >
      <header>
        <strong>The agent wants to use {request.tool}</strong> <Expiry at={request.expiresAt} />
      </header>
      {request.title && <p>{request.title}</p>}
      <ToolPreview tool={request.tool} input={input} />
      {denying ? (
        <form
          className="deny-form"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            void answer({ behavior: "deny", ...(message.trim() ? { message } : {}) });
          }}
        >
          <label>
            Tell the agent why (optional)
            <input
              data-testid="deny-message"
              value={message}
              maxLength={2000}
              onChange={(e) => setMessage(e.target.value)}
            />
          </label>
          <button type="submit" className="danger" disabled={busy} data-testid="deny-confirm">
            Deny
          </button>{" "}
          <button type="button" onClick={() => setDenying(false)}>
            Back
          </button>
        </form>
      ) : (
        <div className="input-actions">
          <button
            type="button"
            className="primary"
            disabled={busy}
            data-testid="allow-once"
            onClick={() => void answer({ behavior: "allow" })}
          >
            Allow once
          </button>
          <button
            type="button"
            disabled={busy}
            data-testid="allow-task"
            onClick={() => void answer({ behavior: "allow", remember: "task" })}
          >
            Allow for this task
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy}
            data-testid="deny"
            onClick={() => setDenying(true)}
          >
            Deny…
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** What the tool call will do: the command, or the file and a diff of the edit. */
function ToolPreview(props: { tool: string; input: Record<string, unknown> }) {
  const { input } = props;
  const str = (key: string) => (typeof input[key] === "string" ? (input[key] as string) : null);
  const command = str("command");
  const file = str("file_path") ?? str("notebook_path") ?? str("path");
  if (command !== null) {
    return (
      <>
        {str("description") && <p className="muted">{str("description")}</p>}
        <pre className="code" data-testid="permission-command">
          {command}
        </pre>
      </>
    );
  }
  if (file !== null && (str("old_string") !== null || str("content") !== null)) {
    return (
      <>
        <p>
          File <code data-testid="permission-file">{file}</code>
        </p>
        <DiffPreview
          before={str("old_string") ?? ""}
          after={str("new_string") ?? str("content") ?? ""}
        />
      </>
    );
  }
  return <pre className="code">{JSON.stringify(input, null, 2)}</pre>;
}

function QuestionForm(props: { taskId: string; request: PendingInput; questions: Question[] }) {
  const { request, questions } = props;
  const { busy, error, answer } = useAnswer(props.taskId, request.requestId);
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const complete = questions.every((q) => (chosen[q.question] ?? "").trim() !== "");
  return (
    <form
      className="input-card question"
      data-testid="question-form"
      data-request-id={request.requestId}
      onSubmit={(event) => {
        event.preventDefault();
        if (complete) void answer({ answers: chosen });
      }}
    >
      <header>
        <strong>The agent asks</strong> <Expiry at={request.expiresAt} />
      </header>
      {questions.map((q) => (
        <fieldset key={q.question}>
          <legend>
            {q.header && <span className="badge">{q.header}</span>} {q.question}
          </legend>
          {q.options.map((option) => (
            <label key={option.label} className="option">
              <input
                type="radio"
                name={`${request.requestId}:${q.question}`}
                value={option.label}
                checked={chosen[q.question] === option.label}
                onChange={() => setChosen((held) => ({ ...held, [q.question]: option.label }))}
              />
              <span>{option.label}</span>
              {option.description && <span className="muted"> — {option.description}</span>}
            </label>
          ))}
          <label className="option">
            Other:{" "}
            <input
              type="text"
              maxLength={2000}
              value={
                q.options.some((o) => o.label === chosen[q.question])
                  ? ""
                  : (chosen[q.question] ?? "")
              }
              onChange={(e) => setChosen((held) => ({ ...held, [q.question]: e.target.value }))}
            />
          </label>
        </fieldset>
      ))}
      <div className="input-actions">
        <button type="submit" className="primary" disabled={busy || !complete} data-testid="answer">
          Answer
        </button>
        <button type="button" disabled={busy} onClick={() => void answer({ behavior: "deny" })}>
          Skip
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
