import { ne } from "drizzle-orm";
import { database, schema } from "../../edge/db";
import { log } from "../../edge/log";
import { askDevice } from "./relay";
import { archiveSettings, recordKept } from "./store";

// The hourly runtime cleanup: every connected device archives (verified) and removes the task
// workspaces idle longer than WORKSPACE_IDLE_HOURS. A device that is offline is asked next time.

const MAX_DEVICES_PER_RUN = 500;
const IN_PARALLEL = 10;

/** Resolves once every connected device answered (or timed out: one silent device blocks none). */
export async function cleanupIdleWorkspaces(
  env: Env,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const { idleHours, maxBytes } = archiveSettings(env);
  const devices = await database(env.DB)
    .select({ ownerId: schema.devices.ownerId, deviceId: schema.devices.deviceId })
    .from(schema.devices)
    .where(ne(schema.devices.status, "offline"))
    .limit(MAX_DEVICES_PER_RUN)
    .all();
  const one = async (device: (typeof devices)[number]) => {
    try {
      const answer = await askDevice(
        env,
        device,
        {
          type: "workspace:cleanup",
          olderThanHours: idleHours,
          dryRun: false,
          maxBytes,
        },
        options.timeoutMs ?? 5 * 60 * 1000,
      );
      if (answer.kind === "cleanup") {
        await recordKept(env, device, answer.report.entries);
        const kept = answer.report.entries.filter((e) => e.outcome === "kept").length;
        const removed = answer.report.entries.filter((e) => e.outcome === "removed").length;
        log({ event: "workspace.auto_cleanup", ...device, removed, kept });
      }
    } catch (error) {
      log({ event: "workspace.auto_cleanup_failed", ...device, message: String(error) }, "warn");
    }
  };
  for (let i = 0; i < devices.length; i += IN_PARALLEL) {
    await Promise.all(devices.slice(i, i + IN_PARALLEL).map(one));
  }
}
