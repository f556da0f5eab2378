import {
  capabilityStatus,
  ClaudeCodeOffers,
  type Device,
  type OwnerCommandInfo,
  OwnerCommands,
  type PendingInput,
  type Project,
  Projects,
  SecurityEvent,
} from "@wegent/protocol";
import type { schema } from "../edge/db";
import type { ReplySoFar } from "./device-hub/partial";

// The Worker ↔ hub contract, in one place: how the Worker finds a hub, the headers it sets after
// verifying who is calling (the hubs trust nothing else), what it submits, and the device row
// both sides read.

/** Set by the Worker on the executor's upgrade after it verified the token. */
export const HUB_HEADERS = {
  owner: "X-Wegent-Owner",
  device: "X-Wegent-Device",
  deviceType: "X-Wegent-Device-Type",
  tokenId: "X-Wegent-Token-Id",
  tokenExpiresAt: "X-Wegent-Token-Expires",
} as const;

/** Set by the Worker on a browser's live-channel upgrade after it verified the session. */
export const LIVE_HEADERS = {
  user: "X-Wegent-User",
  /** The tag of the credential that opened the socket (`s:<session>` or `t:<token>`). */
  session: "X-Wegent-Session",
  /** When that credential expires (ISO): the hub closes the socket then. */
  expires: "X-Wegent-Expires",
} as const;

/** The DeviceHub of one device: named by owner and executor device id. */
export function deviceHub(env: Env, ownerId: string, deviceId: string) {
  return env.DEVICE_HUB.get(env.DEVICE_HUB.idFromName(`${ownerId}:${deviceId}`));
}

/** The live channel of one user. */
export function userHub(env: Env, userId: string) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(userId));
}

/** A running message as the hub holds it: the reply so far, its transcript, its open requests. */
export type HubPartial = ReplySoFar & {
  pendingInput: PendingInput[];
};

/** What the Worker submits to a device, and what it answers (defined next to the slots). */
export type { SubmitRequest, SubmitResult } from "./device-hub/slot-types";

/** What `DeviceHub.request()` answers (the generic device RPC; see docs/local-work.md). */
export type { DeviceAnswer } from "./device-hub/requests";

/** What the Worker relays to a device's executor about workspaces, and what comes back. */
export type { WorkspaceAnswer, WorkspaceAsk } from "./device-hub/archives";

/** A row of D1's `devices` (the durable catalogue the hubs write through to). */
export type DeviceRow = typeof schema.devices.$inferSelect;

/** The device as the API lists it. */
export function toDevice(row: DeviceRow): Device {
  return {
    id: row.deviceId,
    name: row.customName ?? row.name,
    type: row.type,
    platform: row.platform,
    version: row.version,
    status: row.status,
    slotsUsed: row.slotsUsed,
    maxSlots: row.maxSlots,
    queueLength: row.queueLength,
    isDefault: row.isDefault,
    lastSeenAt: row.lastSeenAt,
    tokenExpiresAt: row.tokenExpiresAt,
    projects: deviceProjects(row),
    commands: deviceCommands(row),
    securityEvent: securityEventOf(row.securityEvent),
    // Cloud-pool executors take no managed capabilities: nothing to sync.
    capabilities:
      row.type === "cloud"
        ? { state: "synced", digest: null, error: null }
        : capabilityStatus({
            desired: row.capabilitiesDesired,
            applied: row.capabilitiesApplied,
            error: row.capabilitiesError,
          }),
    slotLimit: row.slotLimit,
    claudeCode: claudeCodeOf(row.claudeCode),
  };
}

/** What the device's Claude Code offers, as its row holds it (null when unknown). */
function claudeCodeOf(json: string | null): ClaudeCodeOffers | null {
  if (!json) return null;
  try {
    const parsed = ClaudeCodeOffers.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The security event the owner must see (stored as JSON by the credential checks), or null. */
function securityEventOf(json: string | null): SecurityEvent | null {
  if (!json) return null;
  try {
    const parsed = SecurityEvent.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The owner's command keys a device row holds (none before a register, or when unreadable). */
export function deviceCommands(row: Pick<DeviceRow, "commands">): OwnerCommandInfo[] {
  try {
    const parsed = OwnerCommands.safeParse(JSON.parse(row.commands ?? "[]"));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The projects a device row holds, as the executor last advertised them (none when unreadable). */
export function deviceProjects(row: Pick<DeviceRow, "projects">): Project[] {
  try {
    const parsed = Projects.safeParse(JSON.parse(row.projects));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
