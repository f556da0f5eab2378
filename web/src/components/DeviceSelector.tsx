import { useId } from "react";
import type { Device } from "@wegent/protocol";
import type { CloudStatus } from "@wegent/protocol";
import {
  cloudLabel,
  deviceChoice,
  deviceLabel,
  isChoosable,
  parseChoice,
  slotsText,
  type Choice,
} from "../state/target";

export interface DeviceSelectorProps {
  devices: readonly Device[];
  cloud: CloudStatus | null;
  /** null until the device list first arrives. */
  value: Choice | null;
  onChange: (choice: Choice) => void;
}

/**
 * Where the next message runs. A native select: keyboard, screen readers and small screens
 * work out of the box, and a disabled option is exactly "greyed and not choosable".
 */
export function DeviceSelector(props: DeviceSelectorProps) {
  const id = useId();
  const { devices, value } = props;
  const chosen = value?.startsWith("device:")
    ? devices.find((d) => deviceChoice(d.id) === value)
    : undefined;
  const missing = value !== null && value !== "cloud" && !chosen;

  return (
    <div className="device-selector">
      <label htmlFor={id}>Run on</label>
      <select
        id={id}
        data-testid="device-selector"
        value={value ?? ""}
        disabled={value === null}
        onChange={(event) => {
          const choice = parseChoice(event.target.value);
          // A disabled option cannot be picked by hand, but scripts and old browsers can.
          const device = devices.find((d) => deviceChoice(d.id) === choice);
          if (choice && (!device || isChoosable(device))) props.onChange(choice);
        }}
      >
        {value === null && <option value="">Loading devices…</option>}
        <option value="cloud" data-testid="target-option-cloud">
          {cloudLabel(props.cloud)}
        </option>
        {devices.map((device) => (
          <option
            key={device.id}
            value={deviceChoice(device.id)}
            disabled={!isChoosable(device)}
            className={`status-${device.status}`}
            data-testid={`target-option-${device.id}`}
          >
            {deviceLabel(device)}
          </option>
        ))}
        {missing && (
          <option value={value} disabled>
            Removed device
          </option>
        )}
      </select>
      <SelectionNote device={chosen} missing={missing} />
    </div>
  );
}

function SelectionNote(props: { device: Device | undefined; missing: boolean }) {
  const { device } = props;
  if (props.missing) {
    return (
      <p className="hint warn" data-testid="selection-note">
        That device was removed. Pick another.
      </p>
    );
  }
  if (!device) return null;
  const slots = slotsText(device.slotsUsed, device.maxSlots);
  const text =
    device.status === "offline"
      ? `${device.name} is offline. Start its executor or pick another device.`
      : device.status === "busy"
        ? `${device.name} is busy (${slots}): your message will wait in its queue.`
        : device.status === "reconnecting"
          ? `${device.name} is reconnecting (${slots}).`
          : `${slots} in use.`;
  return (
    <p className={`hint ${device.status === "offline" ? "warn" : ""}`} data-testid="selection-note">
      <span className={`mark device-${device.status}`} aria-hidden="true" /> {text}
    </p>
  );
}
