import { type ReactNode, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { Device, PermissionMode, Task } from "@wegent/protocol";
import { errorText } from "../api";
import { href, navigate } from "../lib/route";
import { isTerminal, type MessageView } from "../state/messages";
import { type SendExtra, useStore } from "../state/store";
import { deviceProblem, stateWord, unreachableText } from "../state/target";
import { ChangesPanel } from "./ChangesPanel";
import { Composer, RUNTIME_LABEL } from "./Composer";
import { EarlierConversation } from "./EarlierConversation";
import { AssistantMessage, UserMessage } from "./MessageView";
import { InputCard } from "./InputCard";
import { NotificationOffer } from "./NotificationOffer";
import { PresetCards } from "./PresetCards";
import { StatusBadge } from "./StatusBadge";
import { pageScrolls, scrollPageToEnd, usePagePinned, useStickToEnd } from "./stick-to-end";
import { TaskList } from "./TaskList";
import { RateLimitBanner, TaskUsage } from "./Usage";
import { StageLine } from "./StageLine";
import { WorkspacePanel } from "./WorkspacePanel";

export function ChatPage(props: { taskId: string | null }) {
  const store = useStore();
  const { state, openTask } = store;
  const { taskId } = props;
  const task = taskId ? (state.tasks.find((t) => t.id === taskId) ?? null) : null;
  const messages = taskId ? state.messages[taskId] : undefined;
  const [error, setError] = useState<string | null>(null);
  const [fill, setFill] = useState<{ text: string; n: number } | null>(null);
  const loaded = messages !== undefined;
  const pending = taskId ? (state.pendingInput[taskId] ?? []) : [];
  // On a phone the task list folds away; opening a task folds it again.
  const [drawerOpen, setDrawerOpen] = useState(false);
  useEffect(() => setDrawerOpen(false), [taskId]);
  const [tab, setTab] = useState<"conversation" | "changes">("conversation");
  useEffect(() => setTab("conversation"), [taskId]);
  const showChanges = task !== null && task.target === "device" && tab === "changes";

  useEffect(() => {
    setError(null);
    if (taskId && !loaded)
      openTask(taskId).catch((failure: unknown) => setError(errorText(failure)));
  }, [taskId, loaded, openTask]);

  // A new request card comes into view, unless the reader scrolled back through the page.
  const requests = useRef<HTMLDivElement>(null);
  const pagePinned = usePagePinned();
  const newest = pending.at(-1)?.requestId;
  useEffect(() => {
    // Only the phone's page scrolls to it: on desktop the card sits between the list and the
    // composer, always in view, and scrolling there would move the clipped column itself.
    const list = document.querySelector('[data-testid="message-list"]');
    if (newest && pagePinned.current && pageScrolls(list)) {
      requests.current?.scrollIntoView?.({ block: "nearest" });
    }
  }, [newest, pagePinned]);

  const latestReply = messages?.findLast((m) => m.role === "assistant");
  const running = latestReply !== undefined && !isTerminal(latestReply);

  async function send(text: string, permissionMode?: PermissionMode, extra?: SendExtra) {
    setError(null);
    const choice = task ? store.choiceFor(task) : store.newChatChoice;
    if (!choice) throw new Error("Devices are still loading.");
    const id = await store.send(task, text, choice, permissionMode, extra);
    if (!task) navigate(href.task(id));
  }

  function retry(failed: MessageView) {
    if (!task || !messages) return null;
    const index = messages.indexOf(failed);
    const question = messages.slice(0, index).findLast((m) => m.role === "user");
    if (!question) return null;
    return () => {
      send(question.content).catch((failure: unknown) => setError(errorText(failure)));
    };
  }

  return (
    <div className="chat">
      <button
        type="button"
        className="drawer-toggle"
        aria-expanded={drawerOpen}
        aria-controls="task-sidebar"
        onClick={() => setDrawerOpen((open) => !open)}
      >
        {drawerOpen ? "Hide tasks" : "Tasks"}
      </button>
      <aside id="task-sidebar" className={`task-sidebar ${drawerOpen ? "open" : ""}`}>
        <TaskList currentTaskId={taskId} />
      </aside>
      <main className={`conversation ${task ? "has-task" : ""}`} aria-label="Conversation">
        {task && <TaskHeader task={task} onDeleted={() => navigate(href.newChat)} />}
        {task && <TaskUsage messages={messages ?? []} />}
        {task && <StageLine messages={messages ?? []} />}
        <RateLimitBanner messages={messages ?? []} />
        {task?.target === "device" && (
          <div className="task-tabs" role="tablist" aria-label="Task view">
            {(["conversation", "changes"] as const).map((name) => (
              <button
                key={name}
                type="button"
                role="tab"
                aria-selected={tab === name}
                data-testid={`tab-${name}`}
                onClick={() => setTab(name)}
              >
                {name === "conversation" ? "Conversation" : "Changes"}
              </button>
            ))}
          </div>
        )}
        {showChanges && task && <ChangesPanel task={task} messages={messages ?? []} />}
        {!showChanges && (
          <MessageList
            key={taskId ?? "new"}
            messages={messages ?? []}
            loading={taskId !== null && !loaded && !error}
            running={running}
            retry={retry}
            earlier={
              task?.continuedSessionId && task.deviceId ? (
                <EarlierConversation
                  deviceId={task.deviceId}
                  sessionId={task.continuedSessionId}
                  heading="Earlier, in the terminal"
                  until={messages?.find((m) => m.role === "user")?.content}
                />
              ) : null
            }
            onPreset={(text) => setFill((held) => ({ text, n: (held?.n ?? 0) + 1 }))}
          />
        )}
        {taskId && pending.length > 0 && (
          <div className="input-requests" aria-live="polite" ref={requests}>
            {pending.map((request) => (
              <InputCard key={request.requestId} taskId={taskId} request={request} />
            ))}
          </div>
        )}
        {/* Offered when it would help: while an agent works or waits for an answer. */}
        {(running || pending.length > 0) && <NotificationOffer />}
        {error && (
          <p className="error" role="alert" data-testid="chat-error">
            {error}
          </p>
        )}
        <Composer
          key={`${taskId ?? "new"}:${fill?.n ?? 0}`}
          initialText={fill?.text ?? ""}
          task={task}
          running={running}
          latestReply={latestReply}
          onSend={send}
          onStop={() =>
            task && store.cancel(task.id).catch((failure: unknown) => setError(errorText(failure)))
          }
        />
      </main>
    </div>
  );
}

function TaskHeader(props: { task: Task; onDeleted: () => void }) {
  const { deleteTask, state } = useStore();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // On a phone the export, workspace and delete controls fold behind "More".
  const [more, setMore] = useState(false);
  const { task } = props;
  const device = task.deviceId ? state.devices.find((d) => d.id === task.deviceId) : undefined;
  const where = [
    task.target === "cloud" ? "Cloud" : (device?.name ?? "Removed device"),
    task.projectName ?? (task.target === "device" ? "scratch" : null),
    task.branch,
  ].filter((part): part is string => part !== null);
  return (
    <header className={`task-header ${more ? "more-open" : ""}`}>
      <h1 data-testid="task-title" title={task.title || "Untitled"}>
        {task.title || "Untitled"}
      </h1>
      <StatusBadge status={task.status} />
      <span className="task-runtime muted" data-testid="task-runtime" title="The agent">
        {RUNTIME_LABEL[task.runtime]}
      </span>
      <button
        type="button"
        className="quiet task-more-toggle"
        aria-expanded={more}
        aria-controls={`task-extras-${task.id}`}
        onClick={() => setMore((open) => !open)}
        data-testid="task-more"
      >
        {more ? "Less" : "More"}
      </button>
      <p className="task-where muted" data-testid="task-where" title={where.join(" · ")}>
        {where.join(" · ")}
      </p>
      {device && (unreachableText(device) ?? deviceAttention(device)) && (
        <p className="hint warn task-device-state" data-testid="task-device-state">
          {unreachableText(device) ?? deviceAttention(device)}
        </p>
      )}
      <div className="task-extras" id={`task-extras-${task.id}`}>
        <span className="export" aria-label="Export">
          <a href={`/api/tasks/${props.task.id}/export?format=md`} download data-testid="export-md">
            Export .md
          </a>{" "}
          <a
            href={`/api/tasks/${props.task.id}/export?format=json`}
            download
            data-testid="export-json"
          >
            .json
          </a>
        </span>
        <WorkspacePanel task={task} deviceName={device?.name ?? null} />
        {confirming ? (
          <span className="confirm">
            Delete this task?{" "}
            <button
              type="button"
              className="danger"
              onClick={() =>
                deleteTask(props.task.id)
                  .then(props.onDeleted)
                  .catch((failure: unknown) => setError(errorText(failure)))
              }
            >
              Delete
            </button>{" "}
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="quiet" onClick={() => setConfirming(true)}>
            Delete task
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </header>
  );
}

function MessageList(props: {
  messages: MessageView[];
  loading: boolean;
  running: boolean;
  retry: (failed: MessageView) => (() => void) | null;
  onPreset: (text: string) => void;
  /** A continued terminal session's conversation, above the new messages. */
  earlier?: ReactNode;
}) {
  const { state, removeQueued } = useStore();
  const [removeError, setRemoveError] = useState<string | null>(null);
  const list = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const pagePinned = usePagePinned();
  const opened = useRef(false);

  // A task opens at its latest message; then the list follows the stream while the reader is
  // at the bottom and leaves them be if they scrolled up. On a phone the page itself scrolls.
  useLayoutEffect(() => {
    const element = list.current;
    if (!element) return;
    const first = !opened.current && props.messages.length > 0;
    if (first) opened.current = true;
    if (first || pinned.current) element.scrollTop = element.scrollHeight;
    if ((first || pagePinned.current) && pageScrolls(element)) scrollPageToEnd();
  }, [props.messages, pagePinned]);
  useStickToEnd(list, pinned, pagePinned);

  const taken = new Set(
    props.messages.flatMap((m) =>
      m.blocks.flatMap((b) => (b.type === "user_message" ? [b.userMessageId] : [])),
    ),
  );

  const deviceName = (deviceId: string | null) =>
    deviceId ? (state.devices.find((d) => d.id === deviceId)?.name ?? "Cloud") : null;

  return (
    <div
      className="message-list"
      ref={list}
      data-testid="message-list"
      onScroll={(event) => {
        const element = event.currentTarget;
        pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
      }}
    >
      {props.loading && <p className="muted">Loading conversation…</p>}
      {!props.loading && props.messages.length === 0 && (
        <div className="empty">
          <h1>What should the agent do?</h1>
          <p className="muted">
            Pick where it runs below: Cloud, or one of your own computers with an executor.
          </p>
          <PresetCards onPick={props.onPreset} />
        </div>
      )}
      {removeError && (
        <p className="error" role="alert">
          {removeError}
        </p>
      )}
      {props.earlier}
      {props.messages.map((message) =>
        message.role === "user" ? (
          // A message a reply took is shown inside that reply, where it was taken.
          taken.has(message.id) ? null : (
            <UserMessage
              key={message.id}
              message={message}
              onRemove={
                message.status === "queued"
                  ? () =>
                      removeQueued(message.taskId, message.id).catch((failure: unknown) =>
                        setRemoveError(errorText(failure)),
                      )
                  : null
              }
            />
          )
        ) : (
          <AssistantMessage
            key={message.id}
            message={message}
            deviceName={deviceName(message.deviceId)}
            onRetry={message.status === "failed" && !props.running ? props.retry(message) : null}
          />
        ),
      )}
    </div>
  );
}

/** "Studio needs attention: …" when the task's device is connected but cannot run, else null. */
function deviceAttention(device: Device): string | null {
  return stateWord(device) === "needs attention"
    ? `${device.name} needs attention: ${deviceProblem(device)}`
    : null;
}
