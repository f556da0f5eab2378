import { z } from "zod";
import { DEVICE_METHODS } from "./local-work";
import { McpServer, RuntimeSettings, Skill } from "./capabilities";
import { ApiToken, CreatedToken, Device, Message, Task, User } from "./api";
import { PendingInput } from "./conversation";

// The bodies the API answers with. The Worker checks its responses against these types and the
// web UI parses them with these schemas: one definition of the contract.

export const UserBody = z.object({ user: User });
export type UserBody = z.infer<typeof UserBody>;
export const Ok = z.object({ ok: z.literal(true) });

export const CloudStatus = z.object({
  online: z.boolean(),
  /** How many cloud executors are connected. */
  executors: z.number().int(),
  slotsUsed: z.number().int(),
  maxSlots: z.number().int(),
  /**
   * Why Cloud cannot run a task for this user now (no executor whose runtime is ready and whose
   * sandbox is in place), in the user's words; null when it can.
   */
  problem: z.string().nullable().optional(),
});
export type CloudStatus = z.infer<typeof CloudStatus>;

export const DevicesBody = z.object({ devices: z.array(Device), cloud: CloudStatus });
export type DevicesBody = z.infer<typeof DevicesBody>;
export const DeviceBody = z.object({ device: Device });
export type DeviceBody = z.infer<typeof DeviceBody>;

export const TokensBody = z.object({ tokens: z.array(ApiToken) });
export type TokensBody = z.infer<typeof TokensBody>;
export const CreatedTokenBody = CreatedToken;

export const TaskWithMessages = z.object({
  task: Task,
  messages: z.array(Message),
  /** Requests of the agent waiting for the user's answer. */
  pendingInput: z.array(PendingInput).default([]),
});
export type TaskWithMessages = z.infer<typeof TaskWithMessages>;
export const TaskBody = z.object({ task: Task });
export type TaskBody = z.infer<typeof TaskBody>;
export const TaskPage = z.object({ tasks: z.array(Task), nextCursor: z.string().nullable() });
export type TaskPage = z.infer<typeof TaskPage>;

/** `GET /api/devices/:id/sessions` and `GET /api/devices/:id/sessions/:sessionId`. */
export const LocalSessionsBody = DEVICE_METHODS["sessions.list"].result;
export type LocalSessionsBody = z.infer<typeof LocalSessionsBody>;
export const LocalTranscriptBody = DEVICE_METHODS["sessions.get"].result;
export type LocalTranscriptBody = z.infer<typeof LocalTranscriptBody>;
export const SkillsBody = z.object({ skills: z.array(Skill) });
export type SkillsBody = z.infer<typeof SkillsBody>;
export const SkillBody = z.object({ skill: Skill });
export type SkillBody = z.infer<typeof SkillBody>;
export const McpServersBody = z.object({ mcpServers: z.array(McpServer) });
export type McpServersBody = z.infer<typeof McpServersBody>;
export const McpServerBody = z.object({ mcpServer: McpServer });
export type McpServerBody = z.infer<typeof McpServerBody>;
export const RuntimeSettingsBody = z.object({ runtime: RuntimeSettings });
export type RuntimeSettingsBody = z.infer<typeof RuntimeSettingsBody>;
