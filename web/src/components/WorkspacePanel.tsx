import { useCallback, useEffect, useState } from "react";
import { type Task, WorkspaceState } from "@wegent/protocol";
import { api, errorText } from "../api";
import { fullDate } from "../lib/time";

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Where the task's workspace lives, its last archive, Archive now and Download. */
export function WorkspacePanel(props: { task: Task; deviceName: string | null }) {
  const { task } = props;
  const [state, setState] = useState<WorkspaceState | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const path = `/api/tasks/${task.id}/workspace`;
  const load = useCallback(() => {
    api("GET", path, WorkspaceState)
      .then(setState)
      .catch(() => setState(null));
  }, [path]);
  useEffect(load, [load, task.status, task.deviceId]);
  if (!state) return null;
  const archive = state.archive;
  const where =
    state.state === "on_device"
      ? `on ${props.deviceName ?? state.deviceId}`
      : state.state === "archived"
        ? "archived (not on any device)"
        : "none";
  async function archiveNow() {
    setBusy(true);
    setError(null);
    try {
      setState(await api("POST", `/api/tasks/${task.id}/archive`, WorkspaceState));
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="workspace" data-testid="workspace-panel">
      <span data-testid="workspace-state">Workspace: {where}</span>
      {archive && (
        <span title={`SHA-256 ${archive.sha256}`}>
          {" "}
          · archived {fullDate(archive.createdAt)} · {formatBytes(archive.size)} · {archive.files}{" "}
          files
        </span>
      )}{" "}
      {state.state === "on_device" && (
        <button type="button" className="quiet" onClick={archiveNow} disabled={busy}>
          {busy ? "Archiving…" : "Archive now"}
        </button>
      )}{" "}
      {archive && (
        <a href={`${path}/download`} download data-testid="workspace-download">
          Download .tar.gz
        </a>
      )}
      {state.archiveError && (
        <p className="error" data-testid="workspace-archive-error">
          Kept on the device: {state.archiveError}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
