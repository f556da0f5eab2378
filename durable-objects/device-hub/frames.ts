import { assertNever, type ExecutorFrame } from "@wegent/protocol";
import type { Meter } from "../meters";
import type { InputDesk } from "./input-desk";
import type { Presence } from "./presence";
import type { PendingRequests } from "./requests";
import type { Slots } from "./slots";
import { type ExecutorSocket, linkTo, sendFrame } from "./socket";
import type { HubStore } from "./store";

/** The parts of the hub a registered executor's frames reach. */
export interface FrameHost {
  store: HubStore;
  slots: Slots;
  presence: Presence;
  inputs: InputDesk;
  meter: Meter;
  requests: PendingRequests;
  scheduleAlarm: () => Promise<void>;
}

/** One parsed frame from the executor (already checked: current socket, registered). */
export async function executorFrame(
  h: FrameHost,
  ws: ExecutorSocket,
  frame: ExecutorFrame,
): Promise<void> {
  switch (frame.type) {
    case "device:register":
      await h.presence.register(ws, frame);
      // Answers given while the executor was away (it ignores those it already has).
      if (h.store.getMeta().registered) h.inputs.resend(linkTo(ws));
      return h.scheduleAlarm();
    case "device:heartbeat":
      h.store.setMeta({ lastSeenAt: Date.now() });
      if (frame.projects) {
        await h.presence.saveProjects(frame.projects);
        // A project may have become a git repository (or the other way round).
        await h.slots.pump();
      }
      await h.slots.reconcile(linkTo(ws), frame.runningTaskIds);
      if (frame.capabilities) await h.presence.capabilitiesApplied(frame.capabilities);
      if (frame.runtimeInfo) await h.presence.saveRuntimes(frame.runtimeInfo);
      await h.presence.publishStatus();
      return h.scheduleAlarm();
    case "device:goodbye":
      h.store.setMeta({ draining: true });
      return;
    case "task:accepted":
      if (!h.slots.accepted(frame.taskId, frame.messageId)) {
        sendFrame(ws, {
          type: "error",
          code: "unknown_task",
          message: `Message ${frame.messageId} is not dispatched to this device.`,
        });
        return;
      }
      return h.scheduleAlarm();
    case "task:progress":
    case "task:progress-batch":
    case "task:complete":
    case "task:failed": {
      const replies = await h.slots.receive(frame);
      for (const reply of replies) sendFrame(ws, reply);
      h.meter.wsOut(replies.length);
      return;
    }
    case "device:response":
      // Answered: its timeout leaves the deadline table (the alarm moves to the next row).
      if (h.requests.settle(frame)) return h.scheduleAlarm();
      return;
    case "task:input-request":
      for (const reply of await h.inputs.request(frame)) sendFrame(ws, reply);
      return h.scheduleAlarm();
    default:
      return assertNever(frame);
  }
}
