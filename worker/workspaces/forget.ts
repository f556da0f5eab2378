import { log } from "../../edge/log";
import { deviceHub, type WorkspaceAnswer } from "../../durable-objects/contract";
import { workspaceAnswer } from "../../durable-objects/device-hub/archives";

/** How long a task delete waits for each device to say it forgot the task's files. */
export const FORGET_TIMEOUT_MS = 3_000;

export interface HeldBy {
  ownerId: string;
  deviceId: string;
}

/**
 * A deleted task: asks every device that ran it (or holds its workspace) to remove what it keeps
 * of it (`workspace.forget`: worktree or scratch folder, snapshot, session; never the task
 * branch, never an in-place project). Best effort and short: a device offline, slow or refusing
 * (a reply still stopping) keeps its files, and the delete goes on. Never throws.
 */
export async function forgetOnDevices(
  env: Env,
  ownerId: string,
  taskId: string,
  devices: readonly HeldBy[],
): Promise<void> {
  const unique = new Map(devices.map((d) => [`${d.ownerId}\n${d.deviceId}`, d]));
  await Promise.all(
    [...unique.values()].map(async (d) => {
      let outcome: string;
      try {
        // Typed by hand: RPC typing cannot carry the answer's `unknown` result.
        const answer = workspaceAnswer(
          await deviceHub(env, d.ownerId, d.deviceId).request(
            "workspace.forget",
            { taskId },
            FORGET_TIMEOUT_MS,
          ),
        ) as WorkspaceAnswer;
        outcome = answer.kind === "error" ? answer.code : answer.kind;
      } catch (e) {
        outcome = `failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300);
      }
      const level = outcome === "forgotten" || outcome === "offline" ? "info" : "warn";
      log({ event: "workspace.forget", ownerId, taskId, deviceId: d.deviceId, outcome }, level);
    }),
  );
}
