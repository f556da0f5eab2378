import { z } from "zod";

// The owner's audit of what only a person may do: define or change MCP servers and skills,
// runtime settings and the default permission mode, approve a pairing, answer an agent's
// request, and where push notifications go. Each attempt is one entry, including the ones refused because a token tried.

export const ACCOUNT_ACTIONS = [
  "mcp_server.create",
  "mcp_server.update",
  "mcp_server.delete",
  "skill.upload",
  "skill.update",
  "skill.delete",
  "runtime_settings.update",
  "settings.update",
  "pairing.approve",
  "input.answer",
  /** A browser subscribed to push notifications, one removed, or which events are pushed. */
  "push_subscription.create",
  "push_subscription.delete",
  "push_preferences.update",
  /** A message that asked for acceptEdits or bypassPermissions (refused for tokens). */
  "message.permission_mode",
] as const;
export const AccountAction = z.enum(ACCOUNT_ACTIONS);
export type AccountAction = z.infer<typeof AccountAction>;

export const AccountAuditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  action: AccountAction,
  /** `session`: a signed-in person; `token`: an API token (always refused). */
  via: z.enum(["session", "token"]),
  /** The session's or token's id (never the secret). */
  viaId: z.string(),
  /** The token's name when a token tried; null for sessions. */
  viaName: z.string().nullable(),
  /** An MCP server's or skill's name, a device id, a task id. */
  target: z.string().nullable(),
  /** A short summary without secrets. */
  detail: z.string().nullable(),
  /** `ok`, or the error code it ended with. */
  outcome: z.string(),
});
export type AccountAuditEntry = z.infer<typeof AccountAuditEntry>;

export const AccountAuditPage = z.object({
  entries: z.array(AccountAuditEntry),
  nextCursor: z.string().nullable(),
});
export type AccountAuditPage = z.infer<typeof AccountAuditPage>;
