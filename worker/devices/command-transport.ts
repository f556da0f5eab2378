import type { CommandRequest, CommandResult } from "@wegent/protocol";
import { CommandRunAnswer } from "@wegent/protocol";

import { deviceHub } from "../../durable-objects/contract";

/** What came back from the device for one command. */
export type CommandAnswer =
  | { kind: "result"; result: CommandResult }
  | { kind: "refused"; code: string; message: string }
  | { kind: "offline"; message: string }
  | { kind: "timeout"; message: string }
  | { kind: "error"; message: string };

/**
 * Sends one command to the device through its hub (the generic device RPC, method
 * `command.run`) and waits up to `waitMs` for the answer.
 */
export async function sendCommand(
  env: Env,
  ownerId: string,
  deviceId: string,
  command: { request: CommandRequest; waitMs: number },
): Promise<CommandAnswer> {
  const answer = await deviceHub(env, ownerId, deviceId).request(
    "command.run",
    command.request,
    command.waitMs,
  );
  if (!answer.ok) {
    switch (answer.code) {
      case "device_offline":
        return { kind: "offline", message: answer.message };
      case "timeout":
        return { kind: "timeout", message: answer.message };
      case "unknown_method":
        return {
          kind: "refused",
          code: "command_unknown",
          message: "The executor on this device is too old for commands; update wegent-executor.",
        };
      default:
        return { kind: "error", message: answer.message };
    }
  }
  // (RPC stubs widen the union, so read the result through the shape the hub returns.)
  const parsed = CommandRunAnswer.safeParse((answer as { result?: unknown }).result);
  if (!parsed.success) return { kind: "error", message: "The device sent an unreadable answer." };
  return parsed.data.ok
    ? { kind: "result", result: parsed.data.result }
    : { kind: "refused", code: parsed.data.code, message: parsed.data.message };
}
