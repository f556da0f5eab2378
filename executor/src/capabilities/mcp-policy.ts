// What the device's own device-config.json lets managed MCP servers (from the platform's
// Settings) do here. A managed definition comes from the owner's account, and so from anything
// that could once change it: on a device whose permission floor asks (anything but
// bypassPermissions), a stdio server — a command this device runs — starts only when
// `managedMcp.allowStdio` is true; and a definition reads only the environment variables the
// device lists in `managedMcp.allowEnv` (default none), for a stdio server's `env` and an HTTP
// server's headers alike. What is left out is reported, one line each, with the applied state.
import {
  type DeviceCapabilitiesFrame,
  type DeviceMcpPolicy,
  EnvName,
  type PermissionMode,
} from "@wegent/protocol";
import { z } from "zod";
import { MCP_PREFIX } from "./mcp-names";

/** device-config.json `managedMcp`. */
export const ManagedMcpConfig = z.strictObject({
  /** Start managed stdio servers even though this device's permission floor asks. */
  allowStdio: z.boolean().default(false),
  /** The device's environment variables managed definitions may read. */
  allowEnv: z.array(EnvName).max(100).default([]),
});
export type ManagedMcpConfig = z.infer<typeof ManagedMcpConfig>;
export const NO_MANAGED_MCP_CONFIG: ManagedMcpConfig = { allowStdio: false, allowEnv: [] };

export interface McpPolicy {
  permissionMode: PermissionMode;
  stdio: boolean;
  env: readonly string[];
}

export function mcpPolicy(config: ManagedMcpConfig, permissionMode: PermissionMode): McpPolicy {
  return {
    permissionMode,
    stdio: permissionMode === "bypassPermissions" || config.allowStdio,
    env: [...new Set(config.allowEnv)],
  };
}

type Servers = DeviceCapabilitiesFrame["mcpServers"];
const MAX_LINES = 100;

/** The servers as this device runs them, and one line per thing left out. */
export function applyMcpPolicy(
  servers: Servers,
  policy: McpPolicy,
): { servers: Servers; skipped: string[] } {
  const allowed = new Set(policy.env);
  const out: Servers = [];
  const skipped: string[] = [];
  for (const server of servers) {
    const name = `${MCP_PREFIX}${server.name}`;
    if (server.transport === "stdio") {
      if (!policy.stdio) {
        skipped.push(
          `${name} not started: this device runs with --permission-mode ${policy.permissionMode} and its device-config.json does not set managedMcp.allowStdio`,
        );
        continue;
      }
      const env = server.env.filter((v) => allowed.has(v));
      for (const v of server.env.filter((v) => !allowed.has(v))) {
        skipped.push(`${name}: ${v} not passed (not in device-config.json managedMcp.allowEnv)`);
      }
      out.push({ ...server, env });
    } else {
      const headers = server.headers.filter((h) => allowed.has(h.env));
      for (const h of server.headers.filter((h) => !allowed.has(h.env))) {
        skipped.push(
          `${name}: header ${h.name} not sent: ${h.env} is not in device-config.json managedMcp.allowEnv`,
        );
      }
      out.push({ ...server, headers });
    }
  }
  return { servers: out, skipped: skipped.slice(0, MAX_LINES).map((l) => l.slice(0, 300)) };
}

/** The policy as the device reports it (with the applied capabilities). */
export function policyReport(policy: McpPolicy, servers: Servers): DeviceMcpPolicy {
  return {
    permissionMode: policy.permissionMode,
    stdio: policy.stdio,
    env: [...policy.env],
    skipped: applyMcpPolicy(servers, policy).skipped,
  };
}
