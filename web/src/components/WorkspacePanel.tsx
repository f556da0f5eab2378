import { useCallback, useEffect, useState } from "react";
import { type Task, WorkspaceState } from "@wegent/protocol";
import { api } from "../api";
import { useAction } from "../lib/action";
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

/**
 * Where the task's workspace lives, its last archive, Archive to cloud and Download. Archiving
 * a local device's task uploads its files: the button asks first and says so.
 */
export function WorkspacePanel(props: { task: Task; deviceName: string | null }) {
  const { task } = props;
  const [state, setState] = useState<WorkspaceState | null>(null);
  const { busy, error, run } = useAction();
  const [confirming, setConfirming] = useState(false);
  const path = `/api/tasks/${task.id}/workspace`;
  const load = useCallback(() => {
    api("GET", path, WorkspaceState)
      .then(setState)
      .catch(() => setState(null));
  }, [path]);
  useEffect(load, [load, task.status, task.deviceId]);
  if (!state) return null;
  const archive = state.archive;
  const device = props.deviceName ?? state.deviceId;
  const local = task.target === "device";
  const where =
    state.state === "on_device"
      ? `on ${device}`
      : state.state === "snapshot"
        ? `kept on ${device} (its folder was cleaned up; your next message restores it there, nothing was uploaded)`
        : state.state === "archived"
          ? "archived in the cloud (not on any device)"
          : "none";
  function archiveNow() {
    setConfirming(false);
    return run(async () => {
      setState(await api("POST", `/api/tasks/${task.id}/archive`, WorkspaceState));
    });
  }
  const canArchive = state.state === "on_device" || state.state === "snapshot";
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
      {canArchive && !confirming && (
        <button
          type="button"
          className="quiet"
          onClick={() => (local ? setConfirming(true) : void archiveNow())}
          disabled={busy}
        >
          {busy ? "Uploading…" : local ? "Archive to cloud…" : "Archive now"}
        </button>
      )}
      {confirming && (
        <span className="confirm" data-testid="archive-confirm">
          This uploads the task&apos;s files and its Claude session files from {device} to the
          cloud.{" "}
          <button type="button" className="danger" onClick={() => void archiveNow()}>
            Upload to the cloud
          </button>{" "}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
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
