/**
 * Structured logs: one JSON object per line, from a typed union so log search can index
 * every field. Never put secrets (tokens, passwords, cookies) in an event.
 */
export type LogEvent =
  | { event: "auth.signup"; userId: string; isAdmin: boolean }
  | { event: "otel.export_failed"; status: number }
  | { event: "auth.login"; userId: string }
  | { event: "auth.login_failed"; username: string; attempts: number }
  | { event: "auth.login_limited"; username: string; scope: string; retryAfter: number }
  | { event: "auth.password_upgraded"; userId: string }
  | { event: "auth.logout"; userId: string }
  | { event: "token.created"; userId: string; tokenId: string; scope: string; days: number }
  | { event: "token.revoked"; userId: string; tokenId: string; devicesClosed: number }
  | { event: "token.refused"; tokenId: string | null; code: string }
  | { event: "credential.family_started"; ownerId: string; deviceId: string }
  | { event: "credential.rotated"; ownerId: string; deviceId: string }
  | { event: "credential.refused"; ownerId: string; code: string }
  | { event: "credential.reuse_detected"; ownerId: string; deviceId: string }
  | { event: "token.reuse_detected"; ownerId: string; deviceId: string; tokenId: string }
  | { event: "signup.refused"; code: string }
  | { event: "pairing.started"; pairingId: string; deviceId: string }
  | { event: "pairing.approved"; pairingId: string; userId: string; deviceId: string }
  | { event: "pairing.consumed"; pairingId: string; deviceId: string }
  | { event: "pairing.refused"; pairingId: string; deviceId: string }
  | { event: "http.refused"; code: string; method: string; path: string }
  | { event: "person.refused"; userId: string; tokenId: string; action: string }
  | { event: "device.registered"; ownerId: string; deviceId: string; replaced: boolean }
  | { event: "device.status"; ownerId: string; deviceId: string; status: string; slotsUsed: number }
  | { event: "device.lost"; ownerId: string; deviceId: string; reason: string }
  | { event: "device.removed"; ownerId: string; deviceId: string; forced: boolean }
  | { event: "device.bad_frame"; ownerId: string; deviceId: string; code: string; strikes: number }
  | {
      event: "device.capabilities";
      ownerId: string;
      deviceId: string;
      digest: string | null;
      error: string | null;
    }
  | { event: "device.capabilities_send_failed"; ownerId: string; deviceId: string; message: string }
  | { event: "task.created"; ownerId: string; taskId: string; messageId: string; target: string }
  | {
      event: "task.message_queued";
      ownerId: string;
      taskId: string;
      messageId: string;
      interrupt: boolean;
    }
  | {
      event: "task.input_requested";
      taskId: string;
      messageId: string;
      kind: string;
      tool: string;
    }
  | { event: "task.input_resolved"; taskId: string; messageId: string; outcome: string }
  | {
      event: "task.dispatched";
      taskId: string;
      messageId: string;
      deviceId: string;
      attempt: number;
    }
  | {
      event: "task.finished";
      taskId: string;
      messageId: string;
      status: string;
      code: string | null;
    }
  | { event: "task.final_write_failed"; messageId: string; message: string }
  | { event: "live.publish_failed"; userId: string; events: number; message: string }
  | { event: "hub.write_failed"; label: string; message: string }
  | { event: "hub.write_retried"; label: string; failures: number }
  | { event: "http.error"; method: string; path: string; message: string }
  | { event: "archive.refused"; taskId: string; deviceId: string }
  | { event: "archive.stored"; ownerId: string; taskId: string; size: number }
  | { event: "archive.dangling_aborted"; ownerId: string; taskId: string }
  | { event: "workspace.archived"; ownerId: string; taskId: string }
  | {
      event: "workspace.cleanup";
      ownerId: string;
      deviceId: string;
      dryRun: boolean;
      keep: "cloud" | "device";
    }
  | {
      event: "workspace.auto_cleanup";
      ownerId: string;
      deviceId: string;
      removed: number;
      kept: number;
      keep: "cloud" | "device";
    }
  | { event: "workspace.snapshot_restored"; ownerId: string; taskId: string }
  | {
      event: "workspace.forget";
      ownerId: string;
      taskId: string;
      deviceId: string;
      /** forgotten | offline | timeout | error code (the task was deleted either way) */
      outcome: string;
    }
  | { event: "archive.upload_refused"; taskId: string; deviceId: string }
  | { event: "device.cloud_backup"; ownerId: string; deviceId: string; cloudBackup: boolean }
  | { event: "workspace.auto_cleanup_failed"; ownerId: string; deviceId: string; message: string }
  | {
      event: "push.sent";
      ownerId: string;
      subscriptionId: string;
      kind: string;
      status: number;
      ms: number;
    }
  | { event: "push.suppressed"; ownerId: string; taskId: string; kind: string }
  | { event: "push.removed"; ownerId: string; subscriptionId: string; status: number }
  | {
      event: "push.retry_kept";
      ownerId: string;
      taskId: string;
      kind: string;
      subscriptions: number;
      tries: number;
    }
  | { event: "push.failed"; ownerId: string; kind: string; message: string };

export function log(entry: LogEvent, level: "info" | "warn" | "error" = "info"): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...entry });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
