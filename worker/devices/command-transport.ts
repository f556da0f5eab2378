import type { CommandRequest, CommandResult } from "@wegent/protocol";

/** What came back from the device for one command. */
export type CommandAnswer =
  | { kind: "result"; result: CommandResult }
  | { kind: "refused"; code: string; message: string }
  | { kind: "offline"; message: string }
  | { kind: "timeout"; message: string }
  | { kind: "error"; message: string };

/**
 * Sends one command to the device through its hub and waits up to `waitMs` for the answer.
 * Wired to the generic device RPC (`device:request` / `device:response`) once it is on main.
 */
export async function sendCommand(
  _env: Env,
  _ownerId: string,
  _deviceId: string,
  _command: { request: CommandRequest; waitMs: number },
): Promise<CommandAnswer> {
  return { kind: "error", message: "the device RPC is not wired yet" };
}
