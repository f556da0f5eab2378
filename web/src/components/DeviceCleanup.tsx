import { useEffect, useId, useState } from "react";
import { CleanupReport, type Device } from "@wegent/protocol";
import { api } from "../api";
import { useAction } from "../lib/action";
import { formatBytes } from "./WorkspacePanel";

/**
 * Disk used by task workspaces on a device, and Clean up: a dry run lists what would go first;
 * removing keeps each workspace first — on the device itself (a snapshot, nothing uploaded)
 * unless the owner turned on cloud backup, then as an archive in the cloud (verified).
 */
export function DeviceCleanup(props: { device: Device }) {
  const path = `/api/devices/${encodeURIComponent(props.device.id)}/cleanup`;
  const online = props.device.status !== "offline";
  const [usage, setUsage] = useState<CleanupReport | null>(null);
  const [hours, setHours] = useState(24);
  const [preview, setPreview] = useState<CleanupReport | null>(null);
  const [done, setDone] = useState<CleanupReport | null>(null);
  const { busy, error, run: act } = useAction();
  const id = useId();

  useEffect(() => {
    if (!online) return;
    // A dry run that matches nothing still reports the disk use.
    api("POST", path, CleanupReport, { olderThanHours: 24 * 365, dryRun: true })
      .then(setUsage)
      .catch(() => setUsage(null));
  }, [path, online, done]);

  function run(dryRun: boolean) {
    return act(async () => {
      const report = await api("POST", path, CleanupReport, { olderThanHours: hours, dryRun });
      if (dryRun) setPreview(report);
      else {
        setPreview(null);
        setDone(report);
      }
    });
  }

  if (!online) return null;
  const candidates = preview?.entries.filter((e) => e.outcome === "would_remove") ?? [];
  // The cloud pool always archives; a local device only with cloud backup on.
  const uploads = props.device.cloudBackup;
  return (
    <div className="cleanup" data-testid="device-cleanup">
      <p data-testid="workspace-disk">
        Workspaces: {usage ? `${formatBytes(usage.totalBytes)} in ${usage.workspaces}` : "…"}
      </p>
      <div className="row">
        <label htmlFor={id}>Idle longer than (hours)</label>
        <input
          id={id}
          type="number"
          min={0}
          value={hours}
          onChange={(e) => setHours(Math.max(0, Number(e.target.value)))}
          style={{ width: "6em" }}
        />
        <button type="button" onClick={() => run(true)} disabled={busy}>
          Clean up…
        </button>
      </div>
      {preview && (
        <div className="confirm" role="group" aria-label="Clean up preview">
          {candidates.length === 0 ? (
            <p>No workspace has been idle that long.</p>
          ) : (
            <>
              <p data-testid="cleanup-explain">
                {uploads
                  ? "These workspaces will be uploaded to the cloud (their files and Claude session files), then removed from the device:"
                  : "These workspaces will be kept on this device (uncommitted changes in a hidden git ref, other files packed in the executor's folder; nothing is uploaded), then their folders removed:"}
              </p>
              <ul data-testid="cleanup-preview">
                {preview.entries.map((e) => (
                  <li key={e.taskId}>
                    {e.taskId.slice(0, 8)} · {formatBytes(e.bytes)} · idle {e.idleHours} h
                    {e.outcome === "kept" ? ` · kept: ${e.reason}` : ""}
                  </li>
                ))}
              </ul>
              <button type="button" className="danger" onClick={() => run(false)} disabled={busy}>
                {uploads ? "Upload to the cloud and remove" : "Keep on this device and remove"}{" "}
                {candidates.length}
              </button>{" "}
            </>
          )}
          <button type="button" onClick={() => setPreview(null)}>
            Cancel
          </button>
        </div>
      )}
      {done && (
        <ul data-testid="cleanup-result">
          {done.entries.map((e) => (
            <li key={e.taskId}>
              {e.taskId.slice(0, 8)} · {formatBytes(e.bytes)} ·{" "}
              {e.snapshot ? "removed (kept on this device)" : e.outcome}
              {e.reason ? ` (${e.reason})` : ""}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
