import { useState } from "react";
import { errorText } from "../api";
import { href } from "../lib/route";
import { fromNow, useNow } from "../lib/time";
import { useStore } from "../state/store";
import { LocalSessions } from "./LocalSessions";
import { StatusBadge } from "./StatusBadge";

export function TaskList(props: { currentTaskId: string | null }) {
  const { state, loadMoreTasks } = useStore();
  const now = useNow();
  const [error, setError] = useState<string | null>(null);

  return (
    <nav className="task-list" aria-label="Tasks">
      <a className="button primary new-chat" href={href.newChat} data-testid="new-chat">
        + New chat
      </a>
      {!state.tasksLoaded && <p className="muted">Loading tasks…</p>}
      {state.tasksLoaded && state.tasks.length === 0 && <p className="muted">No tasks yet.</p>}
      <ul data-testid="task-list">
        {state.tasks.map((task) => (
          <li key={task.id}>
            <a
              href={href.task(task.id)}
              aria-current={task.id === props.currentTaskId ? "page" : undefined}
              data-testid={`task-${task.id}`}
            >
              <span className="task-title">{task.title || "Untitled"}</span>
              <span className="task-meta">
                <StatusBadge status={task.status} />
                <time dateTime={task.updatedAt} className="muted">
                  {fromNow(task.updatedAt, now)}
                </time>
              </span>
            </a>
          </li>
        ))}
      </ul>
      {state.nextCursor && (
        <button
          type="button"
          onClick={() => loadMoreTasks().catch((failure: unknown) => setError(errorText(failure)))}
        >
          Load more
        </button>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <LocalSessions />
    </nav>
  );
}
