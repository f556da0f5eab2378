import type { DeviceCapabilities } from "@wegent/protocol";

/** The columns of a device row that say how far its capabilities are. */
export interface CapabilityColumns {
  capabilities_desired?: string | null;
  capabilities_applied?: string | null;
  capabilities_error?: string | null;
}

/**
 * synced: the device applied what the owner wants; failed: its latest apply went wrong (the
 * reason is shown); pending: it has not caught up yet (offline, or applying).
 */
export function capabilityStatus(row: CapabilityColumns): DeviceCapabilities {
  const desired = row.capabilities_desired ?? null;
  const applied = row.capabilities_applied ?? null;
  const error = row.capabilities_error ?? null;
  if (error) return { state: "failed", digest: applied, error };
  if (desired !== null && applied === desired) return { state: "synced", digest: applied, error };
  return { state: "pending", digest: applied, error: null };
}
