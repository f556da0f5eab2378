import { useCallback, useEffect, useMemo, useState } from "react";
import { type ChangedFile, type Task, WorkspaceDiff, WorkspaceRevert } from "@wegent/protocol";
import { errorText } from "../api";
import { type DiffLine, languageOf, splitDiff } from "../commands/diff";
import { runBuiltin } from "../commands/run";
import { highlight } from "../lib/highlight";
import { toolsOf, type MessageView } from "../state/messages";
import { LandPanel } from "./LandPanel";

/** Claude Code tools that change files: when one finishes, the changes are read again. */
const FILE_TOOLS = new Set(["Edit", "MultiEdit", "Write", "NotebookEdit"]);

/** How many of the agent's file edits have finished so far (the refresh trigger). */
export function finishedEdits(messages: readonly MessageView[]): number {
  let count = 0;
  for (const message of messages) {
    for (const tool of toolsOf(message.blocks)) {
      if (FILE_TOOLS.has(tool.name) && tool.result) count++;
    }
  }
  return count;
}

type Load =
  | { kind: "loading" }
  | { kind: "error"; message: string }
  | { kind: "ready"; diff: WorkspaceDiff; truncated: boolean };

/** The Changes tab: what the agent changed in the task's workspace, file by file. */
export function ChangesPanel(props: { task: Task; messages: readonly MessageView[] }) {
  const { task } = props;
  const deviceId = task.deviceId;
  const edits = finishedEdits(props.messages);
  const [load, setLoad] = useState<Load>({ kind: "loading" });

  const refresh = useCallback(async () => {
    if (!deviceId) return;
    try {
      const diff = await runBuiltin(deviceId, "workspace.diff", WorkspaceDiff, {}, task.id);
      setLoad({ kind: "ready", diff, truncated: false });
    } catch (failure) {
      setLoad({ kind: "error", message: errorText(failure) });
    }
  }, [deviceId, task.id]);

  useEffect(() => {
    void refresh();
  }, [refresh, edits, task.status]);

  if (task.target !== "device" || !deviceId) {
    return <p className="muted">Changes are shown for tasks that run on your own devices.</p>;
  }
  return (
    <section className="changes" aria-label="Changes" data-testid="changes">
      <div className="changes-bar">
        <button type="button" className="quiet" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {load.kind === "loading" && <p className="muted">Reading the workspace…</p>}
      {load.kind === "error" && (
        <p className="error" role="alert">
          {load.message}
        </p>
      )}
      {load.kind === "ready" && load.diff.git && (
        <LandPanel
          task={task}
          deviceId={deviceId}
          changes={edits + load.diff.files.length}
          onLanded={() => void refresh()}
        />
      )}
      {load.kind === "ready" && (
        <ChangeList
          diff={load.diff}
          deviceId={deviceId}
          taskId={task.id}
          onChanged={() => void refresh()}
        />
      )}
    </section>
  );
}

function ChangeList(props: {
  diff: WorkspaceDiff;
  deviceId: string;
  taskId: string;
  onChanged: () => void;
}) {
  const blocks = useMemo(() => splitDiff(props.diff.diff), [props.diff.diff]);
  if (props.diff.files.length === 0) {
    return <p className="muted">No changes in the workspace yet.</p>;
  }
  const added = props.diff.files.reduce((sum, f) => sum + (f.added ?? 0), 0);
  const removed = props.diff.files.reduce((sum, f) => sum + (f.removed ?? 0), 0);
  return (
    <>
      <p className="changes-summary" data-testid="changes-summary">
        {props.diff.files.length} file{props.diff.files.length === 1 ? "" : "s"} changed{" "}
        <span className="plus">+{added}</span> <span className="minus">−{removed}</span>
      </p>
      <ul className="change-files">
        {props.diff.files.map((file) => (
          <ChangedFileView
            key={file.path}
            file={file}
            lines={blocks.get(file.path) ?? []}
            deviceId={props.deviceId}
            taskId={props.taskId}
            onChanged={props.onChanged}
          />
        ))}
      </ul>
    </>
  );
}

export function ChangedFileView(props: {
  file: ChangedFile;
  lines: DiffLine[];
  deviceId: string;
  taskId: string;
  onChanged: () => void;
}) {
  const { file } = props;
  const [open, setOpen] = useState(true);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const lang = languageOf(file.path);

  async function revert() {
    setError(null);
    try {
      await runBuiltin(
        props.deviceId,
        "workspace.revert",
        WorkspaceRevert,
        { path: file.path },
        props.taskId,
      );
      setConfirming(false);
      props.onChanged();
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  return (
    <li className="change-file" data-testid="change-file" data-path={file.path}>
      <div className="change-head">
        <button
          type="button"
          className="change-name"
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
        >
          <span className={`change-status ${file.status}`}>{file.status}</span>{" "}
          <span className="path">{file.path}</span>
        </button>
        <span className="change-counts">
          {file.tooLarge ? (
            <span data-testid="too-large">too large ({formatSize(file.size ?? 0)})</span>
          ) : file.added === null ? (
            "binary"
          ) : (
            <>
              <span className="plus">+{file.added}</span>{" "}
              <span className="minus">−{file.removed}</span>
            </>
          )}
        </span>
        {confirming ? (
          <span className="confirm">
            Revert {file.path} to its base version?{" "}
            <button type="button" className="danger" onClick={() => void revert()}>
              Revert
            </button>{" "}
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="quiet" onClick={() => setConfirming(true)}>
            Revert file
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {open && file.tooLarge && (
        <p className="muted" data-testid="too-large-note">
          Not compared: this file is over the {formatSize(COMPARE_MAX_BYTES)} the Changes tab reads,
          so it shows when it is new, gone or changed size, without a diff.
        </p>
      )}
      {open && !file.tooLarge && (
        <pre className="diff" data-testid="diff">
          {props.lines
            .filter((line) => line.kind !== "meta")
            .map((line, index) => (
              <DiffRow key={index} line={line} lang={lang} />
            ))}
        </pre>
      )}
    </li>
  );
}

function DiffRow(props: { line: DiffLine; lang: string }) {
  const { line } = props;
  if (line.kind === "hunk") return <div className="diff-hunk">{line.text}</div>;
  const sign = line.text.charAt(0);
  // highlight() escapes everything it does not wrap in a span of its own.
  const html = highlight(line.text.slice(1), props.lang);
  return (
    <div className={`diff-${line.kind}`}>
      <span className="diff-sign">{sign}</span>
      <span dangerouslySetInnerHTML={{ __html: html }} />
    </div>
  );
}

/** What status and diff read at most (the executor's limit, `large-files.ts`). */
const COMPARE_MAX_BYTES = 64 * 1024 * 1024;

function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
