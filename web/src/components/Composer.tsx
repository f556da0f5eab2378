import { useId, useState, type FormEvent, type KeyboardEvent } from "react";
import { PermissionMode, type RuntimeId, type Task } from "@wegent/protocol";
import { errorText } from "../api";
import type { MessageView } from "../state/messages";
import { type SendExtra, useStore } from "../state/store";
import { DeviceSelector } from "./DeviceSelector";
import { ProjectSelector } from "./ProjectSelector";
import { taskChoice } from "../state/target";
import { useDefaultRuntime } from "../state/default-runtime";

export function Composer(props: {
  task: Task | null;
  running: boolean;
  latestReply: MessageView | undefined;
  onSend: (text: string, permissionMode?: PermissionMode, extra?: SendExtra) => Promise<void>;
  onStop: () => void;
  /** Text to start with (a preset the user picked). */
  initialText?: string;
}) {
  const store = useStore();
  const { task, latestReply } = props;
  const [draft, setDraft] = useState(props.initialText ?? "");
  // The mode picked stays picked: until the user picks another, a task's composer starts from
  // the mode its latest message ran with.
  const [picked, setMode] = useState<PermissionMode | "" | null>(null);
  const mode = picked ?? latestReply?.permissionMode ?? "";
  const [model, setModel] = useState("");
  const [runtime, setRuntime] = useState<RuntimeId | "">("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const choice = task ? store.choiceFor(task) : store.newChatChoice;
  // While the agent works, a message waits in its reply and is taken at its next step.
  const canSend = draft.trim().length > 0 && !sending && choice !== null;
  // Projects are picked for a new chat; a task keeps the project it started in.
  const device =
    !task && choice?.startsWith("device:")
      ? store.state.devices.find((d) => `device:${d.id}` === choice)
      : undefined;
  const continuing = !task ? store.continuing : null;
  // A follow-up to another place moves the task: its files go through the cloud. Say so first.
  const moving =
    task && task.target === "device" && task.deviceId && choice && choice !== taskChoice(task)
      ? {
          from: store.state.devices.find((d) => d.id === task.deviceId)?.name ?? task.deviceId,
          to:
            choice === "cloud"
              ? "Cloud"
              : (store.state.devices.find((d) => `device:${d.id}` === choice)?.name ?? "there"),
        }
      : null;
  // A new task on a device that runs more than one agent: which one (default: my setting).
  const runtimes = device?.runtimes.filter((r) => r.problem === null).map((r) => r.id) ?? [];
  // The agent the message will run on: the task's; a continued session's; the one picked; else
  // the user's default (Settings), as the Worker decides it.
  const defaultRuntime = useDefaultRuntime(!task && !continuing);
  const taskRuntime =
    task?.runtime ??
    (continuing ? (continuing.runtime ?? "claude-code") : runtime === "" ? null : runtime) ??
    defaultRuntime;
  // What the task's agent on its device offers (models, slash commands), once it told us.
  const offers = (
    task?.deviceId ? store.state.devices.find((d) => d.id === task.deviceId) : device
  )?.runtimes.find((r) => r.id === (taskRuntime ?? "claude-code"));
  const commandPrefix = /^\/([^\s]*)$/.exec(draft)?.[1];
  const completions =
    commandPrefix === undefined || !offers
      ? []
      : offers.commands
          .filter((c) => c.name.toLowerCase().startsWith(commandPrefix.toLowerCase()))
          .slice(0, 8);

  async function submit(event?: FormEvent, interrupt = false) {
    event?.preventDefault();
    if (!canSend) return;
    setSending(true);
    setError(null);
    try {
      // A message typed while the agent works joins the running reply in its mode.
      await props.onSend(draft.trim(), mode === "" || props.running ? undefined : mode, {
        ...(model && !props.running ? { model } : {}),
        // A continued session goes on with the agent that made it (the Worker knows which).
        ...(!task && !continuing && runtime !== "" ? { runtime } : {}),
        ...(interrupt && props.running ? { interrupt: true } : {}),
      });
      setDraft("");
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setSending(false);
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is neither.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit} aria-label="Send a message">
      {latestReply?.status === "queued" && (
        <p className="hint" data-testid="composer-queue" role="status">
          Queued
          {latestReply.queuePosition !== null
            ? `: #${latestReply.queuePosition} in line`
            : ""} — {latestReply.queueReason ?? "it starts when a slot frees up."}
        </p>
      )}
      {moving && (
        <p className="hint warn" data-testid="composer-move" role="status">
          Sending moves this task to {moving.to}: its files and Claude session files are uploaded
          from {moving.from} to the cloud and restored there.
        </p>
      )}
      {continuing && (
        <p className="hint continuing" data-testid="composer-continuing" role="status">
          Continuing the session “{continuing.title}”.{" "}
          <button type="button" className="quiet" onClick={() => store.continueSession(null)}>
            Start fresh instead
          </button>
        </p>
      )}
      <label htmlFor={id} className="visually-hidden">
        Message
      </label>
      <textarea
        id={id}
        data-testid="composer"
        rows={3}
        placeholder={
          props.running
            ? "Add to what it is doing: it takes this at its next step…"
            : task
              ? "Send a follow-up…"
              : "Ask the agent to do something…"
        }
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={onKeyDown}
        aria-autocomplete="list"
      />
      {completions.length > 0 && (
        <ul className="command-completions" role="listbox" data-testid="command-completions">
          {completions.map((c) => (
            <li key={c.name} role="option" aria-selected={false}>
              <button type="button" className="quiet" onClick={() => setDraft(`/${c.name} `)}>
                /{c.name}
                {c.argumentHint ? ` ${c.argumentHint}` : ""}{" "}
                <span className="muted">{c.description}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-bar">
        <DeviceSelector
          devices={store.state.devices}
          cloud={store.state.cloud}
          value={choice}
          onChange={(next) => store.choose(task, next)}
        />
        {device && device.projects.length > 0 && (
          <ProjectSelector
            device={device}
            value={store.newChatProject}
            onChange={store.chooseProject}
            continuing={continuing !== null && continuing.projectId === store.newChatProject}
          />
        )}
        <label className="mode-select">
          <span className="visually-hidden">Permissions</span>
          <select
            data-testid="permission-mode"
            value={props.running ? (latestReply?.permissionMode ?? mode) : mode}
            onChange={(e) => setMode(e.target.value as PermissionMode | "")}
            disabled={props.running}
            title={
              props.running
                ? "The running reply's mode: what you type now joins it. Change the mode once it ends (or stop it)."
                : "How the agent may use tools for this message"
            }
          >
            <option value="">Permissions: my default</option>
            {PermissionMode.options.map((option) => (
              <option key={option} value={option}>
                {MODE_LABEL[option]}
              </option>
            ))}
          </select>
        </label>
        {!task && !continuing && runtimes.length > 1 && (
          <label className="mode-select">
            <span className="visually-hidden">Agent</span>
            <select
              data-testid="runtime-select"
              value={runtime}
              onChange={(e) => {
                setRuntime(e.target.value as RuntimeId | "");
                setModel(""); // another agent's models: the picked one may not be among them
              }}
              title="The agent that runs this task"
            >
              <option value="">Agent: my default</option>
              {runtimes.map((option) => (
                <option key={option} value={option}>
                  {RUNTIME_LABEL[option]}
                </option>
              ))}
            </select>
          </label>
        )}
        {offers && offers.models.length > 0 && !props.running && (
          <label className="mode-select">
            <span className="visually-hidden">Model</span>
            <select
              data-testid="model-select"
              value={model}
              onChange={(e) => setModel(e.target.value)}
              title="The model for this message"
            >
              <option value="">Model: the device's default</option>
              {offers.models.map((m) => (
                <option key={m.value} value={m.value} title={m.description}>
                  {m.displayName || m.value}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="composer-actions">
          {props.running && (
            <button
              type="button"
              disabled={!canSend}
              onClick={() => void submit(undefined, true)}
              data-testid="steer-button"
              title="Stop its current step and send this at once"
            >
              Interrupt &amp; send
            </button>
          )}
          {props.running && (
            <button
              type="button"
              className="danger"
              onClick={props.onStop}
              data-testid="stop-button"
            >
              Stop
            </button>
          )}
          <button type="submit" className="primary" disabled={!canSend} data-testid="send-button">
            {sending
              ? "Sending…"
              : props.running
                ? "Queue"
                : moving
                  ? "Upload, move and send"
                  : "Send"}
          </button>
        </div>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="composer-error">
          {error}
        </p>
      )}
    </form>
  );
}

export const MODE_LABEL: Record<PermissionMode, string> = {
  default: "Ask before tools",
  acceptEdits: "Accept edits, ask for the rest",
  bypassPermissions: "Never ask",
  plan: "Plan only",
};

/** The agent runtimes in the owner's words. */
export const RUNTIME_LABEL: Record<RuntimeId, string> = {
  "claude-code": "Claude Code",
  codex: "Codex",
};
