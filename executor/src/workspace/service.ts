import { lstat } from "node:fs/promises";
import type {
  DeviceParams,
  WorkspaceArchiveParams,
  WorkspaceCleanupParams,
  WorkspaceForgetParams,
  WorkspaceOutcome,
  WorkspaceRestoreParams,
  WorkspaceRestoreSnapshotParams,
} from "@wegent/protocol";
import type { DeviceHandlers } from "../connection/device-rpc";
import type { Logger } from "../log";
import { type ArchiveContext, ArchiveError, archiveTask } from "./archive";
import { ArchiveClient, ArchiveHttpError } from "./client";
import { cleanup } from "./cleanup";
import { ForgetError, forgetTask } from "./forget";
import { type WorkspaceRoots } from "./places";
import { locateTask } from "./places";
import { RestoreError, restoreTask } from "./restore";
import { hasSnapshot, restoreSnapshot, SnapshotError, snapshotTask } from "./snapshot";

export interface WorkspaceServiceOptions extends WorkspaceRoots {
  backendUrl: string;
  deviceId: string;
  /** The projects this device offers (local mode). */
  projects?: () => readonly { id: string; path: string; git: boolean }[];
  /**
   * Local mode: a cleanup that does not say where to keep a workspace (an older Worker) keeps
   * it on the device, never uploading.
   */
  local?: boolean;
  log: Logger;
  running(taskId: string): boolean;
  /**
   * How long `workspace.forget` waits for a task's run to end before refusing (a task deleted
   * while it ran: the Worker cancelled its reply just before). Default 2 s.
   */
  forgetWaitMs?: number;
}

type Outcome = WorkspaceOutcome;

/** One workspace request, by the device RPC method that asked it. */
type WorkspaceCommand =
  | ({ type: "workspace.archive" } & WorkspaceArchiveParams)
  | ({ type: "workspace.restore" } & WorkspaceRestoreParams)
  | ({ type: "workspace.restore_snapshot" } & WorkspaceRestoreSnapshotParams)
  | ({ type: "workspace.cleanup" } & WorkspaceCleanupParams)
  | ({ type: "workspace.forget" } & WorkspaceForgetParams);

type WorkspaceMethod = WorkspaceCommand["type"];

/**
 * Answers the hub's `workspace.*` device RPC methods (archive / restore / cleanup), one at a
 * time per task. A failure the device can explain is an `error` outcome, not an RPC error.
 */
export class WorkspaceService {
  private readonly busy = new Set<string>();

  constructor(private readonly options: WorkspaceServiceOptions) {}

  /** The `workspace.*` methods' handlers for the device RPC. */
  handlers(): Pick<DeviceHandlers, WorkspaceMethod> {
    const answer =
      <M extends WorkspaceMethod>(type: M) =>
      (params: DeviceParams<M>) =>
        this.run({ type, ...params } as WorkspaceCommand);
    return {
      "workspace.archive": answer("workspace.archive"),
      "workspace.restore": answer("workspace.restore"),
      "workspace.restore_snapshot": answer("workspace.restore_snapshot"),
      "workspace.cleanup": answer("workspace.cleanup"),
      "workspace.forget": async (params) => {
        await this.stopped(params.taskId, this.options.forgetWaitMs ?? 2_000);
        return this.run({ type: "workspace.forget", ...params });
      },
    };
  }

  /** Waits (at most `ms`) for the task's run to end; the caller then checks again. */
  private async stopped(taskId: string, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.options.running(taskId) && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private client(grant: string, taskId: string) {
    return new ArchiveClient({ backendUrl: this.options.backendUrl, grant, taskId });
  }

  private context(taskId: string, sessionIds?: readonly string[]): ArchiveContext {
    return {
      roots: this.options,
      taskId,
      deviceId: this.options.deviceId,
      ...(sessionIds ? { sessionIds } : {}),
    };
  }

  private restoreContext(taskId: string) {
    return {
      roots: this.options,
      taskId,
      deviceId: this.options.deviceId,
      projects: this.options.projects ?? (() => []),
    };
  }

  /** A task whose working folder a cleanup replaced with a local snapshot: lay it out again. */
  private async unsnapshotIfGone(taskId: string): Promise<void> {
    if (!(await hasSnapshot(this.options, taskId))) return;
    const place = await locateTask(this.options, taskId);
    if (await lstat(place.dir).catch(() => null)) return;
    await restoreSnapshot(this.restoreContext(taskId));
    this.options.log.info("workspace restored from its local snapshot", { taskId });
  }

  private async run(frame: WorkspaceCommand): Promise<Outcome> {
    const { log } = this.options;
    const key = frame.type === "workspace.cleanup" ? "*cleanup" : frame.taskId;
    if (this.busy.has(key) || (key !== "*cleanup" && this.options.running(key))) {
      return error("task_running", "The task is running or its workspace is busy; try again.");
    }
    this.busy.add(key);
    try {
      switch (frame.type) {
        case "workspace.archive": {
          // The owner asked for an archive (or a move) of a task kept as a snapshot here: lay
          // it out again first, then pack what is on the device.
          await this.unsnapshotIfGone(frame.taskId);
          const place = await locateTask(this.options, frame.taskId);
          const archive = await archiveTask(
            place,
            this.context(frame.taskId, frame.sessionIds),
            this.client(frame.grant, frame.taskId),
            frame.maxBytes,
          );
          log.info("workspace archived", {
            taskId: frame.taskId,
            kind: place.kind,
            size: archive.size,
          });
          return { kind: "archived", archive };
        }
        case "workspace.restore": {
          const client = this.client(frame.grant, frame.taskId);
          let body;
          try {
            body = await client.download();
          } catch (e) {
            return error("download_failed", `The archive could not be downloaded: ${describe(e)}`);
          }
          const { files, place } = await restoreTask(
            this.restoreContext(frame.taskId),
            body,
            frame,
          );
          log.info("workspace restored", { taskId: frame.taskId, files, place });
          return { kind: "restored", files, place };
        }
        case "workspace.restore_snapshot": {
          const { files, place } = await restoreSnapshot(this.restoreContext(frame.taskId));
          log.info("workspace restored from its local snapshot", {
            taskId: frame.taskId,
            files,
            place,
          });
          return { kind: "restored", files, place };
        }
        case "workspace.cleanup": {
          const keep = frame.keep ?? (this.options.local ? "device" : "cloud");
          const report = await cleanup(
            this.options,
            { ...frame, keep },
            {
              running: (taskId) => this.options.running(taskId) || this.busy.has(taskId),
              archive: async (taskId, place) => {
                const client = this.client(frame.grant, taskId);
                await archiveTask(place, this.context(taskId), client, frame.maxBytes);
              },
              snapshot: (taskId, place) =>
                snapshotTask(place, this.context(taskId), frame.maxBytes),
              removed: (taskId) => this.client(frame.grant, taskId).removed(),
            },
          );
          log.info("workspaces cleaned up", {
            dryRun: frame.dryRun,
            keep,
            removed: report.entries.filter((e) => e.outcome === "removed").length,
          });
          return { kind: "cleanup", report };
        }
        case "workspace.forget": {
          // The task was deleted: nothing of it stays here (its branch and an in-place
          // project excepted).
          const removed = await forgetTask(
            { roots: this.options, projects: this.options.projects ?? (() => []) },
            frame.taskId,
          );
          log.info("workspace forgotten (task deleted)", { taskId: frame.taskId, ...removed });
          return { kind: "forgotten", removed };
        }
      }
    } catch (e) {
      log.warn("workspace request failed", { type: frame.type, error: describe(e) });
      if (
        e instanceof ArchiveError ||
        e instanceof RestoreError ||
        e instanceof SnapshotError ||
        e instanceof ForgetError
      ) {
        return error(e.code, e.message);
      }
      if (e instanceof ArchiveHttpError) {
        return error(e.code === "quota_exceeded" ? "quota_exceeded" : "upload_failed", e.message);
      }
      return error("internal_error", describe(e));
    } finally {
      this.busy.delete(key);
    }
  }
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

function error(code: Extract<Outcome, { kind: "error" }>["code"], message: string): Outcome {
  return { kind: "error", code, message: message.slice(0, 2000) };
}
