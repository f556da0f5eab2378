import { useId } from "react";
import type { Device } from "@wegent/protocol";
import type { CloudStatus } from "@wegent/protocol";
import {
  cloudLabel,
  cloudProblem,
  deviceProblem,
  stateWord,
  unreachableText,
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
          if (choice === "cloud" && cloudProblem(props.cloud)) return;
          if (choice && (!device || isChoosable(device))) props.onChange(choice);
        }}
      >
        {value === null && <option value="">Loading devices…</option>}
        <option
          value="cloud"
          data-testid="target-option-cloud"
          disabled={cloudProblem(props.cloud) !== null}
          title={cloudProblem(props.cloud) ?? undefined}
        >
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
      <SelectionNote
        device={chosen}
        missing={missing}
        cloudProblem={value === "cloud" ? cloudProblem(props.cloud) : null}
      />
    </div>
  );
}

function SelectionNote(props: {
  device: Device | undefined;
  missing: boolean;
  cloudProblem: string | null;
}) {
  const { device } = props;
  if (props.cloudProblem) {
    return (
      <p className="hint warn" data-testid="selection-note">
        <span className="mark device-offline" aria-hidden="true" /> {props.cloudProblem}
      </p>
    );
  }
  if (props.missing) {
    return (
      <p className="hint warn" data-testid="selection-note">
        That device was removed. Pick another.
      </p>
    );
  }
  if (!device) return null;
  const slots = slotsText(device.slotsUsed, device.maxSlots);
  const problem = deviceProblem(device);
  const attention = stateWord(device) === "needs attention";
  const text =
    unreachableText(device) ??
    (attention
      ? `${device.name} needs attention: ${problem}`
      : device.status === "busy"
        ? `${device.name} is busy (${slots}): your message will wait in its queue.`
        : `${slots} in use.`);
  const warn = device.status === "offline" || attention;
  return (
    <p className={`hint ${warn ? "warn" : ""}`} data-testid="selection-note">
      <span
        className={`mark device-${attention ? "attention" : device.status}`}
        aria-hidden="true"
      />{" "}
      {text}
    </p>
  );
}
