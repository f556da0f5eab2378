import type {
  WorkspaceArchive,
  WorkspaceCleanup,
  WorkspaceRestore,
  WorkspaceRestoreSnapshot,
  WorkspaceResult,
} from "@wegent/protocol";
import { sendFrame } from "./socket";

// Workspace requests the Worker relays to the executor (archive, restore, cleanup): the hub
// sends the frame and holds the Worker's RPC call open until `workspace:result` names the same
// requestId, the socket goes away, or the timeout passes. Pending calls live in memory only:
// an in-flight RPC call keeps the object awake, and a lost one simply times out at the Worker.

type Without<T> = T extends unknown ? Omit<T, "requestId"> : never;
export type WorkspaceAsk = Without<
  WorkspaceArchive | WorkspaceRestore | WorkspaceRestoreSnapshot | WorkspaceCleanup
>;
export type WorkspaceAnswer =
  | WorkspaceResult["outcome"]
  | { kind: "offline"; message: string }
  | { kind: "timeout"; message: string };

interface Pending {
  resolve(answer: WorkspaceAnswer): void;
  timer: ReturnType<typeof setTimeout>;
}

export class WorkspaceRequests {
  private readonly pending = new Map<string, Pending>();

  ask(ws: WebSocket | null, ask: WorkspaceAsk, timeoutMs: number): Promise<WorkspaceAnswer> {
    if (!ws) {
      return Promise.resolve({ kind: "offline", message: "The device is offline." });
    }
    const requestId = crypto.randomUUID();
    return new Promise<WorkspaceAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve({ kind: "timeout", message: "The device did not answer in time." });
      }, timeoutMs);
      this.pending.set(requestId, { resolve, timer });
      sendFrame(ws, { ...ask, requestId } as Parameters<typeof sendFrame>[1]);
    });
  }

  /** The executor's answer; an unknown or late requestId is ignored. */
  settle(frame: WorkspaceResult): void {
    const pending = this.pending.get(frame.requestId);
    if (!pending) return;
    this.pending.delete(frame.requestId);
    clearTimeout(pending.timer);
    pending.resolve(frame.outcome);
  }

  /** The socket went away: nothing pending will be answered. */
  dropAll(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.resolve({ kind: "offline", message: "The device disconnected." });
      this.pending.delete(id);
    }
  }
}
