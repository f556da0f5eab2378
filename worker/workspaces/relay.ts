import type { ContentfulStatusCode } from "hono/utils/http-status";
import { deviceHub, type WorkspaceAnswer, type WorkspaceAsk } from "../../durable-objects/contract";
import { ApiError } from "../lib/errors";
import { currentTraceparent } from "../telemetry/request";
import { mintGrant } from "./grant";

type Ask = WorkspaceAsk extends infer T ? (T extends unknown ? Omit<T, "grant"> : never) : never;
type Success = Exclude<WorkspaceAnswer, { kind: "error" | "offline" | "timeout" }>;

const STATUS: Record<string, ContentfulStatusCode> = {
  quota_exceeded: 413,
  archive_too_large: 413,
  workspace_missing: 404,
  task_running: 409,
  snapshot_missing: 409,
  archive_corrupt: 422,
};

/** Asks a device (through its hub) to archive / restore / clean up; errors become ApiErrors. */
export async function askDevice(
  env: Env,
  device: { ownerId: string; deviceId: string },
  ask: Ask,
  timeoutMs = 10 * 60 * 1000,
): Promise<Success> {
  // Only an archive (asked by the owner: Archive, a move) or a cleanup with cloud backup may
  // write to R2; a restore only reads the task's archive.
  const upload =
    ask.method === "workspace.archive" ||
    (ask.method === "workspace.cleanup" && ask.keep === "cloud");
  const grant = await mintGrant(env, {
    deviceOwnerId: device.ownerId,
    deviceId: device.deviceId,
    upload,
  });
  const answer = await deviceHub(env, device.ownerId, device.deviceId).workspace(
    { ...ask, grant } as WorkspaceAsk,
    timeoutMs,
    currentTraceparent(),
  );
  switch (answer.kind) {
    case "offline":
      throw new ApiError(409, "device_offline", `Device ${device.deviceId} is offline.`);
    case "timeout":
      throw new ApiError(504, "device_timeout", answer.message);
    case "error":
      throw new ApiError(STATUS[answer.code] ?? 502, answer.code, answer.message);
    default:
      return answer;
  }
}
