import { z } from "zod";
import { ApiToken, CreatedToken, Device, Message, Task, User } from "@wegent/protocol";

// Response bodies of the API contract. The protocol package defines the pieces; the envelopes
// are only used here, so they live here.
// TODO(protocol): move these envelopes into protocol/src/api.ts so the Worker shares them.

export const UserBody = z.object({ user: User });
export const Ok = z.object({ ok: z.literal(true) });

export const CloudStatus = z.object({
  online: z.boolean(),
  slotsUsed: z.number().int(),
  maxSlots: z.number().int(),
  /** How many cloud executors are connected; tolerated as a list too, and counted. */
  executors: z
    .union([z.number().int(), z.array(z.unknown()).transform((list) => list.length)])
    .catch(0),
});
export type CloudStatus = z.infer<typeof CloudStatus>;

export const DevicesBody = z.object({ devices: z.array(Device), cloud: CloudStatus });
export const DeviceBody = z.object({ device: Device });

export const TokensBody = z.object({ tokens: z.array(ApiToken) });
export const CreatedTokenBody = CreatedToken;

export const TaskWithMessages = z.object({ task: Task, messages: z.array(Message) });
export type TaskWithMessages = z.infer<typeof TaskWithMessages>;
export const TaskBody = z.object({ task: Task });
export const TaskPage = z.object({ tasks: z.array(Task), nextCursor: z.string().nullable() });
