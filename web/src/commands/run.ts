import { CommandResult } from "@wegent/protocol";
import type { z } from "zod";
import { api } from "../api";

/** Runs one command on a device (`POST /api/devices/:id/commands`). */
export function runCommand(
  deviceId: string,
  key: string,
  args: Record<string, unknown> = {},
  taskId?: string,
): Promise<CommandResult> {
  return api("POST", `/api/devices/${encodeURIComponent(deviceId)}/commands`, CommandResult, {
    key,
    args,
    ...(taskId ? { taskId } : {}),
  });
}

/** Runs a built-in command and reads the JSON document it prints. */
export async function runBuiltin<S extends z.ZodType>(
  deviceId: string,
  key: string,
  schema: S,
  args: Record<string, unknown> = {},
  taskId?: string,
): Promise<z.infer<S>> {
  const result = await runCommand(deviceId, key, args, taskId);
  if (result.exitCode !== 0) {
    throw new Error(result.stderr.trim() || `${key} failed with exit code ${result.exitCode}`);
  }
  const parsed = schema.safeParse(JSON.parse(result.stdout));
  if (!parsed.success) throw new Error(`Unexpected answer from ${key}.`);
  return parsed.data;
}
