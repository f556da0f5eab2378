/** Prefix of the managed MCP servers' names, so they never clash with the user's own. */
export const MCP_PREFIX = "wegent-";
