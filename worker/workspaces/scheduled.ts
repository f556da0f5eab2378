import { ne } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { log } from "../../edge/log";
import { askDevice } from "./relay";
import { archiveSettings, keepFor, recordKept } from "./store";

// The hourly runtime cleanup: every connected device removes the task workspaces idle longer
// than WORKSPACE_IDLE_HOURS, after keeping each: the cloud pool (and a local device whose owner
// turned on cloud backup) archives it to R2 (verified); any other local device keeps it on the
// device as a snapshot and uploads nothing. A device that is offline is asked next time.

const MAX_DEVICES_PER_RUN = 500;
const IN_PARALLEL = 10;

/** Resolves once every connected device answered (or timed out: one silent device blocks none). */
export async function cleanupIdleWorkspaces(
  env: Env,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const { idleHours, maxBytes } = archiveSettings(env);
  const devices = await database(env.DB)
    .select({
      ownerId: schema.devices.ownerId,
      deviceId: schema.devices.deviceId,
      type: schema.devices.type,
      cloudBackup: schema.devices.cloudBackup,
    })
    .from(schema.devices)
    .where(ne(schema.devices.status, "offline"))
    .limit(MAX_DEVICES_PER_RUN)
    .all();
  const one = async (row: (typeof devices)[number]) => {
    const device = { ownerId: row.ownerId, deviceId: row.deviceId };
    const keep = keepFor(row);
    try {
      const answer = await askDevice(
        env,
        device,
        {
          method: "workspace.cleanup",
          olderThanHours: idleHours,
          dryRun: false,
          maxBytes,
          keep,
        },
        options.timeoutMs ?? 5 * 60 * 1000,
      );
      if (answer.kind === "cleanup") {
        await recordKept(env, device, answer.report.entries);
        const kept = answer.report.entries.filter((e) => e.outcome === "kept").length;
        const removed = answer.report.entries.filter((e) => e.outcome === "removed").length;
        log({ event: "workspace.auto_cleanup", ...device, removed, kept, keep });
      }
    } catch (error) {
      log({ event: "workspace.auto_cleanup_failed", ...device, message: String(error) }, "warn");
    }
  };
  for (let i = 0; i < devices.length; i += IN_PARALLEL) {
    await Promise.all(devices.slice(i, i + IN_PARALLEL).map(one));
  }
}
