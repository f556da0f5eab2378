import type { ExecutorFrame, WorkspaceCommand, WorkspaceResult } from "@wegent/protocol";
import type { Logger } from "../log";
import { type ArchiveContext, ArchiveError, archiveTask } from "./archive";
import { ArchiveClient, ArchiveHttpError } from "./client";
import { cleanup } from "./cleanup";
import type { WorkspaceRoots } from "./layout";
import { locateTask } from "./places";
import { RestoreError, restoreTask } from "./restore";

export interface WorkspaceServiceOptions extends WorkspaceRoots {
  backendUrl: string;
  deviceId: string;
  /** The projects this device offers (local mode). */
  projects?: () => readonly { id: string; path: string; git: boolean }[];
  log: Logger;
  running(taskId: string): boolean;
  send(frame: ExecutorFrame): boolean;
}

type Outcome = WorkspaceResult["outcome"];

/** Answers the hub's workspace:archive / restore / cleanup requests, one at a time per task. */
export class WorkspaceService {
  private readonly busy = new Set<string>();

  constructor(private readonly options: WorkspaceServiceOptions) {}

  handle(frame: WorkspaceCommand): void {
    void this.run(frame).then((outcome) => {
      this.options.send({ type: "workspace:result", requestId: frame.requestId, outcome });
    });
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

  private async run(frame: WorkspaceCommand): Promise<Outcome> {
    const { log } = this.options;
    const key = frame.type === "workspace:cleanup" ? "*cleanup" : frame.taskId;
    if (this.busy.has(key) || (key !== "*cleanup" && this.options.running(key))) {
      return error("task_running", "The task is running or its workspace is busy; try again.");
    }
    this.busy.add(key);
    try {
      switch (frame.type) {
        case "workspace:archive": {
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
        case "workspace:restore": {
          const client = this.client(frame.grant, frame.taskId);
          let body;
          try {
            body = await client.download();
          } catch (e) {
            return error("download_failed", `The archive could not be downloaded: ${describe(e)}`);
          }
          const { files, place } = await restoreTask(
            {
              roots: this.options,
              taskId: frame.taskId,
              deviceId: this.options.deviceId,
              projects: this.options.projects ?? (() => []),
            },
            body,
            frame,
          );
          log.info("workspace restored", { taskId: frame.taskId, files, place });
          return { kind: "restored", files, place };
        }
        case "workspace:cleanup": {
          const report = await cleanup(this.options, frame, {
            running: (taskId) => this.options.running(taskId) || this.busy.has(taskId),
            archive: async (taskId, place) => {
              const client = this.client(frame.grant, taskId);
              await archiveTask(place, this.context(taskId), client, frame.maxBytes);
            },
            removed: (taskId) => this.client(frame.grant, taskId).removed(),
          });
          log.info("workspaces cleaned up", {
            dryRun: frame.dryRun,
            removed: report.entries.filter((e) => e.outcome === "removed").length,
          });
          return { kind: "cleanup", report };
        }
      }
    } catch (e) {
      log.warn("workspace request failed", { type: frame.type, error: describe(e) });
      if (e instanceof ArchiveError || e instanceof RestoreError) return error(e.code, e.message);
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
