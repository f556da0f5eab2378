import type { LiveEvent } from "@wegent/protocol";
import type { PushNotice } from "../edge/push/send";

/** What a tab told the live channel it shows (`live:focus`); unknown until it says. */
export interface TabFocus {
  visible: boolean;
  focused: boolean;
  taskId: string | null;
}

/**
 * The live events that are worth a push, as notices: a request opens, a reply completes or
 * fails, a task stops because its device went offline. Everything else (deltas, statuses,
 * cancels, resolved cards) sends nothing. Replays never reach here: the device hub publishes a
 * request or a reply's end once, and the user hub also drops a key it saw before.
 */
export function pushNotices(event: LiveEvent): PushNotice[] {
  switch (event.type) {
    case "input:request":
      return [
        {
          kind: "needs_input",
          taskId: event.taskId,
          eventKey: `needs_input:${event.request.requestId}`,
          requestId: event.request.requestId,
          requestKind: event.request.kind,
          tool: event.request.tool,
        },
      ];
    case "task:status":
      if (event.status === "failed" && event.errorCode === "device_disconnected") {
        return [
          {
            kind: "device_offline",
            taskId: event.taskId,
            eventKey: `device_offline:${event.messageId}`,
          },
        ];
      }
      return [];
    case "message:done":
      if (event.status === "completed") {
        return [
          { kind: "finished", taskId: event.taskId, eventKey: `finished:${event.messageId}` },
        ];
      }
      if (event.status === "failed") {
        return [{ kind: "failed", taskId: event.taskId, eventKey: `failed:${event.messageId}` }];
      }
      return [];
    default:
      return [];
  }
}

/** The push is held back only when some tab is visible, focused and on that very task. */
export function watched(tabs: Iterable<TabFocus | null | undefined>, taskId: string): boolean {
  for (const tab of tabs) {
    if (tab && tab.visible && tab.focused && tab.taskId === taskId) return true;
  }
  return false;
}
