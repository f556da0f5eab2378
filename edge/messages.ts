// What the platform tells a person about a device, in one place: the Worker and the hubs say
// the same thing the same way. (The web UI has its own words for what it shows before asking.)

const seconds = (ms: number) => Math.round(ms / 1000);

export const deviceSays = {
  /** A message or task cannot go to it. */
  offline: (name: string) =>
    `Device ${name} is offline. Start wegent-executor on it, or choose another device.`,
  /** A question for it (device RPC) cannot be asked. */
  offlineForRequest: (name: string) => `Device ${name} is offline. Start wegent-executor on it.`,
  /** Short form, where the action is named by the caller. */
  offlineShort: (name: string) => `Device ${name} is offline.`,
  /** Its socket went away while something waited for it. */
  disconnected: (name: string) => `Device ${name} disconnected.`,
  /** A question got no answer in time. */
  noAnswer: (name: string, ms: number) => `Device ${name} did not answer within ${seconds(ms)} s.`,
  /** The same, where the hub does not name it. */
  noAnswerUnnamed: (ms: number) => `The device did not answer within ${seconds(ms)} s.`,
};
