// The owner's own command keys, from `commands` in <home>/device-config.json:
//   "commands": { "tests": { "argv": ["npm", "test"], "cwd": "~/src/app", "timeoutSec": 300 } }
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import {
  BUILTIN_COMMAND_KEYS,
  COMMAND_OUTPUT_DEFAULT_BYTES,
  COMMAND_OUTPUT_MAX_BYTES,
  COMMAND_TIMEOUT_DEFAULT_SEC,
  COMMAND_TIMEOUT_MAX_SEC,
  CommandKey,
} from "@wegent/protocol";

export interface OwnerCommand {
  key: string;
  argv: string[];
  /** Absolute; null = the task's workspace (the command then needs a task). */
  cwd: string | null;
  timeoutSec: number;
  maxOutputBytes: number;
}

const Entry = z
  .object({
    argv: z.array(z.string().min(1).max(4096)).min(1).max(50),
    cwd: z.string().min(1).max(4096).optional(),
    timeoutSec: z.number().int().min(1).max(COMMAND_TIMEOUT_MAX_SEC).optional(),
    maxOutputBytes: z.number().int().min(1).max(COMMAND_OUTPUT_MAX_BYTES).optional(),
  })
  .strict();
const Section = z.record(CommandKey, Entry);

/** Parses the `commands` section; `~` in cwd is the user's home. Throws a readable error. */
export function parseOwnerCommands(raw: unknown, userHome = homedir()): OwnerCommand[] {
  if (raw === undefined) return [];
  const parsed = Section.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`commands.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return Object.entries(parsed.data).map(([key, entry]) => {
    if ((BUILTIN_COMMAND_KEYS as string[]).includes(key)) {
      throw new Error(`commands.${key}: ${key} is a built-in command`);
    }
    const cwd = entry.cwd ?? null;
    return {
      key,
      argv: entry.argv,
      cwd: cwd === null ? null : resolve(cwd.replace(/^~(?=$|\/)/, userHome)),
      timeoutSec: entry.timeoutSec ?? COMMAND_TIMEOUT_DEFAULT_SEC,
      maxOutputBytes: entry.maxOutputBytes ?? COMMAND_OUTPUT_DEFAULT_BYTES,
    };
  });
}

/** Reads `commands` from <home>/device-config.json (none when the file does not exist). */
export async function loadOwnerCommands(executorHome: string): Promise<OwnerCommand[]> {
  let text: string;
  try {
    text = await readFile(join(executorHome, "device-config.json"), "utf8");
  } catch {
    return [];
  }
  const json = JSON.parse(text) as { commands?: unknown };
  return parseOwnerCommands(json.commands);
}
