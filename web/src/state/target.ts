import type { Device, Target, Task } from "@wegent/protocol";
import { availabilityText, type CloudStatus } from "@wegent/protocol";

/** Where the next message goes, as the selector holds it: `cloud` or `device:<id>`. */
export type Choice = "cloud" | `device:${string}`;

export const deviceChoice = (deviceId: string): Choice => `device:${deviceId}`;

export function choiceToTarget(choice: Choice): Target {
  return choice === "cloud" ? "cloud" : { deviceId: choice.slice("device:".length) };
}

/** The first choice of a new chat: the default device if it can take work, else Cloud. */
export function initialChoice(devices: readonly Device[]): Choice {
  const preferred = devices.find((d) => d.isDefault);
  return preferred && isChoosable(preferred) ? deviceChoice(preferred.id) : "cloud";
}

/** Where a task's follow-ups go when the user does not pick another place. */
export function taskChoice(task: Task): Choice {
  return task.target === "device" && task.deviceId ? deviceChoice(task.deviceId) : "cloud";
}

/** An offline device cannot take work; a reconnecting one is expected back within seconds. */
export const isChoosable = (device: Device): boolean => device.status !== "offline";

/**
 * A device's state in words (the same word everywhere: the selector, its note, the devices page).
 * Marks are drawn by CSS (`.mark.device-<status>`), never emoji: a font may lack them.
 */
export const STATUS_WORD: Record<Device["status"], string> = {
  online: "online",
  busy: "busy",
  reconnecting: "reconnecting",
  offline: "offline",
};

/** Why the device's executor cannot run a task now (a runtime's problem), or null. */
export const deviceProblem = (device: Device): string | null =>
  device.runtimes.find((r) => r.problem)?.problem?.message ?? null;

/** The device's state in words; "needs attention" when connected but unable to run a task. */
export function stateWord(device: Device): string {
  const connected = device.status === "online" || device.status === "busy";
  return connected && deviceProblem(device) ? "needs attention" : STATUS_WORD[device.status];
}

/** What an unreachable device's state means, in the one wording every place uses. */
export function unreachableText(device: Pick<Device, "name" | "status">): string | null {
  return device.status === "offline" || device.status === "reconnecting"
    ? availabilityText(device.name, device.status)
    : null;
}

/** Why Cloud cannot take a task now, or null when it can (or before the list arrived). */
export const cloudProblem = (cloud: CloudStatus | null): string | null =>
  cloud === null ? null : (cloud.problem ?? (cloud.online ? null : "No cloud executor is online."));

export const slotsText = (used: number, max: number): string => `${used}/${max} slots`;

export function deviceLabel(device: Device): string {
  const star = device.isDefault ? " (default)" : "";
  const queue = device.queueLength > 0 ? `, ${device.queueLength} queued` : "";
  return `${device.name}${star} · ${stateWord(device)} (${slotsText(device.slotsUsed, device.maxSlots)}${queue})`;
}

export function cloudLabel(cloud: CloudStatus | null): string {
  if (!cloud) return "Cloud";
  if (!cloud.online) return "Cloud · offline (no executors online)";
  if (cloud.problem) return "Cloud · not available now";
  return `Cloud (${slotsText(cloud.slotsUsed, cloud.maxSlots)})`;
}

/** Reads a select's value back into a Choice; anything else is ignored. */
export function parseChoice(value: string): Choice | null {
  if (value === "cloud") return "cloud";
  return value.startsWith("device:") && value.length > "device:".length
    ? deviceChoice(value.slice("device:".length))
    : null;
}
