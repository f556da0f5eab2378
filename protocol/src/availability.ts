// How an unreachable device is worded, the same everywhere: the device selector and its note,
// a refused send, a refused command, the device page, the task header.

export type Unreachable = "reconnecting" | "offline";

/** "Studio is offline: …" — a sentence with what to do about it. */
export function availabilityText(name: string, status: Unreachable): string {
  return status === "offline"
    ? `${name} is offline: its executor is not connected. Start wegent-executor on it, or choose another device.`
    : `${name} is reconnecting: its executor lost its connection. If it was stopped, start wegent-executor on it again, or choose another device.`;
}
