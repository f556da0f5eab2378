import { useId, useState, type FormEvent } from "react";
import type { Device, DeviceMcpPolicy } from "@wegent/protocol";
import { api } from "../api";
import { fromNow, fullDate, useNow } from "../lib/time";
import { DeviceBody, Ok } from "@wegent/protocol";
import { useStore } from "../state/store";
import { slotsText, stateWord, unreachableText } from "../state/target";
import { href } from "../lib/route";
import { useAction } from "../lib/action";
import { AddDevicePanel } from "./AddDevicePanel";
import { projectLabel } from "./ProjectSelector";
import { CommandAudit } from "./CommandAudit";
import { PairingForm } from "./PairingForm";
import { consumePairCode } from "../lib/route";
import { DeviceCleanup } from "./DeviceCleanup";
import { RuntimeFacts, RuntimeProblem } from "./DeviceRuntime";

export function DevicesPage() {
  const { state } = useStore();
  const { cloud } = state;
  const [pairCode] = useState(consumePairCode);
  return (
    <main className="page" aria-labelledby="devices-title">
      <h1 id="devices-title">Devices</h1>
      {cloud && (
        <p className="muted" data-testid="cloud-status">
          ☁️ Cloud: {cloud.online ? "online" : "no executors online"} ·{" "}
          {slotsText(cloud.slotsUsed, cloud.maxSlots)} · {cloud.executors} executor
          {cloud.executors === 1 ? "" : "s"}
        </p>
      )}
      {!state.devicesLoaded && <p className="muted">Loading devices…</p>}
      {state.devicesLoaded && state.devices.length === 0 && (
        <p className="muted" data-testid="no-devices">
          No devices yet. Add one below: it appears here the moment its executor connects.
        </p>
      )}
      <ul className="device-list" data-testid="device-list">
        {state.devices.map((device) => (
          <DeviceCard key={device.id} device={device} />
        ))}
      </ul>
      <PairingForm initialCode={pairCode} />
      <AddDevicePanel />
    </main>
  );
}

const CAPABILITY_TEXT = {
  synced: "✓ in sync with Settings",
  pending: "… not in sync yet",
  failed: "⚠ failed to apply",
} as const;

function DeviceCard(props: { device: Device }) {
  const { device } = props;
  const { dispatch } = useStore();
  const now = useNow();
  const [mode, setMode] = useState<"view" | "rename" | "delete">("view");
  const [showAudit, setShowAudit] = useState(false);
  const action = useAction();
  const { busy, error } = action;
  const path = `/api/devices/${encodeURIComponent(device.id)}`;

  function run(work: () => Promise<void>) {
    return action.run(async () => {
      await work();
      setMode("view");
    });
  }

  const toggleDefault = () =>
    run(async () => {
      const body = await api(device.isDefault ? "DELETE" : "PUT", `${path}/default`, DeviceBody);
      dispatch({ type: "device:upsert", device: body.device });
    });

  const setSlots = (maxSlots: number) =>
    run(async () => {
      const body = await api("PUT", `${path}/slots`, DeviceBody, { maxSlots });
      dispatch({ type: "device:upsert", device: body.device });
    });

  // The box shows the owner's choice at once; the device row follows when the PATCH answers.
  const [backupWish, setBackupWish] = useState<boolean | null>(null);
  const setCloudBackup = (cloudBackup: boolean) => {
    setBackupWish(cloudBackup);
    void run(async () => {
      const body = await api("PATCH", path, DeviceBody, { cloudBackup });
      dispatch({ type: "device:upsert", device: body.device });
    }).finally(() => setBackupWish(null));
  };
  const cloudBackup = backupWish ?? device.cloudBackup;

  const online = device.status !== "offline";
  const remove = () =>
    run(async () => {
      await api("DELETE", online ? `${path}?force=true` : path, Ok);
      dispatch({ type: "device:removed", deviceId: device.id });
    });

  return (
    <li
      className={`card device status-${device.status}`}
      data-testid={`device-${device.id}`}
      data-status={device.status}
    >
      <div className="device-head">
        <button
          type="button"
          className="star"
          aria-pressed={device.isDefault}
          aria-label={
            device.isDefault ? `Unset ${device.name} as default` : `Make ${device.name} the default`
          }
          title={device.isDefault ? "Default device (click to unset)" : "Make default"}
          onClick={toggleDefault}
          disabled={busy}
          data-testid="device-default"
        >
          {device.isDefault ? "⭐" : "☆"}
        </button>
        <h2 data-testid="device-name">{device.name}</h2>
        <span className="device-status" data-testid="device-status">
          <span
            className={`mark device-${stateWord(device) === "needs attention" ? "attention" : device.status}`}
            aria-hidden="true"
          />{" "}
          {stateWord(device)}
        </span>
        {unreachableText(device) && (
          <p className="hint muted device-reach" data-testid="device-reach">
            {unreachableText(device)}
          </p>
        )}
      </div>
      {device.securityEvent && (
        <p className="error" role="alert" data-testid="device-security-event">
          {device.securityEvent.kind === "token_reuse"
            ? `⚠ Device token reuse detected ${fromNow(device.securityEvent.at, now)}: the device token that connected this device was presented again after its one exchange, so all its credentials were revoked. Someone else may hold that token: check the computer, then pair it again.`
            : `⚠ Credential reuse detected ${fromNow(device.securityEvent.at, now)}: a rotated-out credential of this device was used again, so all its credentials were revoked. Check the computer, then pair it again.`}
        </p>
      )}
      <RuntimeProblem device={device} />
      <dl className="facts">
        <RuntimeFacts device={device} />
        <dt>Slots</dt>
        <dd data-testid="device-slots">
          {slotsText(device.slotsUsed, device.maxSlots)}
          {device.queueLength > 0 ? `, ${device.queueLength} queued` : ""}
        </dd>
        <dt>
          <label htmlFor={`slots-${device.id}`}>Max slots</label>
        </dt>
        <dd>
          <select
            id={`slots-${device.id}`}
            value={device.slotLimit ?? device.maxSlots}
            disabled={busy}
            onChange={(e) => void setSlots(Number(e.target.value))}
            data-testid="device-slot-limit"
          >
            {[1, 2, 3, 4, 5].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </dd>
        <dt>Capabilities</dt>
        <dd
          data-testid="device-capabilities"
          data-state={device.capabilities.state}
          title={device.capabilities.digest ?? undefined}
        >
          {CAPABILITY_TEXT[device.capabilities.state]}
          {device.capabilities.error ? `: ${device.capabilities.error}` : ""}
        </dd>
        {device.capabilities.policy && <McpPolicyRows policy={device.capabilities.policy} />}
        {device.sandbox && (
          <>
            <dt>Sandbox</dt>
            <dd data-testid="device-sandbox">
              No network; {device.sandbox.limits.join(", ")}
              {device.sandbox.notApplied.length > 0 && (
                <span className="hint warn" data-testid="device-sandbox-missing">
                  {" "}
                  Not applied: {device.sandbox.notApplied.join("; ")}
                </span>
              )}
            </dd>
          </>
        )}
        <dt>Platform</dt>
        <dd>{device.platform}</dd>
        <dt>Version</dt>
        <dd>{device.version}</dd>
        <dt>Last seen</dt>
        <dd title={fullDate(device.lastSeenAt)}>
          {device.status === "offline" ? fromNow(device.lastSeenAt, now) : "now"}
        </dd>
        {device.commands.length > 0 && (
          <>
            <dt>Commands</dt>
            <dd data-testid="device-commands">
              {device.commands.map((c) => (
                <code key={c.key} title={c.argv.join(" ")}>
                  {c.key}{" "}
                </code>
              ))}
            </dd>
          </>
        )}
        {device.tokenExpiresAt && (
          <>
            <dt>Token expires</dt>
            <dd title={fullDate(device.tokenExpiresAt)}>{fromNow(device.tokenExpiresAt, now)}</dd>
          </>
        )}
        {device.projects.length > 0 && (
          <>
            <dt>Projects</dt>
            <dd>
              <ul className="device-projects" data-testid="device-projects">
                {device.projects.map((project) => (
                  <li key={project.id}>
                    {projectLabel(project)} <span className="muted">{project.path}</span>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
      {device.type === "local" && (
        <div className="cloud-backup">
          <label>
            <input
              type="checkbox"
              checked={cloudBackup}
              disabled={busy}
              onChange={(e) => setCloudBackup(e.target.checked)}
              data-testid="device-cloud-backup"
            />{" "}
            Back up this device&apos;s task workspaces to the cloud
          </label>
          <p className="hint" data-testid="device-cloud-backup-hint">
            {cloudBackup
              ? "On: the hourly cleanup uploads each idle task's files (its worktree's uncommitted and committed files, or its scratch folder) and its Claude session files to the cloud before removing them here."
              : "Off: idle task workspaces are kept on this device (uncommitted changes in a hidden git ref, session files in the executor's folder); only the conversation leaves it."}
          </p>
        </div>
      )}
      <DeviceCleanup device={device} />
      {mode === "view" && (
        <div className="row">
          <button type="button" onClick={() => setMode("rename")} data-testid="device-rename">
            Rename
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => setMode("delete")}
            data-testid="device-delete"
          >
            Delete
          </button>
          {device.type === "local" && (
            <a className="button-link" href={href.skills(device.id)} data-testid="device-skills">
              Skills
            </a>
          )}
          <button
            type="button"
            aria-expanded={showAudit}
            onClick={() => setShowAudit((shown) => !shown)}
            data-testid="device-audit"
          >
            Commands
          </button>
        </div>
      )}
      {showAudit && <CommandAudit deviceId={device.id} />}
      {mode === "rename" && (
        <RenameForm
          device={device}
          busy={busy}
          onCancel={() => setMode("view")}
          onSave={(name) =>
            run(async () => {
              const body = await api("PATCH", path, DeviceBody, { name });
              dispatch({ type: "device:upsert", device: body.device });
            })
          }
        />
      )}
      {mode === "delete" && (
        <div className="confirm" role="group" aria-label="Confirm delete">
          <p>
            {online
              ? `${device.name} is ${device.status}: deleting it stops its executor, and any task running there fails.`
              : `Delete ${device.name}? Its history stays; it comes back only if its executor registers again.`}
          </p>
          <div className="row">
            <button
              type="button"
              className="danger"
              onClick={remove}
              disabled={busy}
              data-testid="device-delete-confirm"
            >
              {online ? "Stop executor and delete" : "Delete"}
            </button>
            <button type="button" onClick={() => setMode("view")}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function RenameForm(props: {
  device: Device;
  busy: boolean;
  onSave: (name: string) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(props.device.name);
  const id = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim()) props.onSave(name.trim());
  }
  return (
    <form className="row" onSubmit={submit}>
      <label htmlFor={id} className="visually-hidden">
        New name for {props.device.name}
      </label>
      <input
        id={id}
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={200}
        autoFocus
      />
      <button type="submit" className="primary" disabled={props.busy}>
        Save
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

/** What the device's device-config.json (`managedMcp`) lets managed MCP servers do there. */
function McpPolicyRows(props: { policy: DeviceMcpPolicy }) {
  const { policy } = props;
  return (
    <>
      <dt>Managed MCP</dt>
      <dd data-testid="device-mcp-policy" data-stdio={policy.stdio ? "allowed" : "blocked"}>
        {policy.stdio
          ? "stdio servers start"
          : `stdio servers do not start (--permission-mode ${policy.permissionMode}; allow with managedMcp.allowStdio in device-config.json)`}
        <br />
        {policy.env.length > 0 ? (
          <>
            may read{" "}
            {policy.env.map((name) => (
              <code key={name}>{name} </code>
            ))}
          </>
        ) : (
          "may read no environment variable (managedMcp.allowEnv)"
        )}
        {policy.skipped.length > 0 && (
          <ul className="muted" data-testid="device-mcp-skipped">
            {policy.skipped.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        )}
      </dd>
    </>
  );
}
