import { useEffect, useState } from "react";
import type { LiveFrame } from "@wegent/protocol";
import { href, navigate } from "./route";
import { setAppBadge } from "./push";

// Getting the user's attention when the agent needs them or is done while the tab is hidden:
// a browser notification (only once the user allowed it, from a button that says why) and a
// count in the page title.

const BASE_TITLE = "Wegent Edge";
const DISMISSED_KEY = "wegent.notifications.dismissed";
let unseen = 0;
let waiting = 0;
const listeners = new Set<() => void>();

function render(): void {
  const count = unseen + waiting;
  document.title = count > 0 ? `(${count}) ${BASE_TITLE}` : BASE_TITLE;
  setAppBadge(count);
  for (const listener of listeners) listener();
}

if (typeof document !== "undefined") {
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      unseen = 0;
      render();
    }
  });
}

export const notificationsSupported = () => typeof Notification !== "undefined";

function notify(title: string, body: string, taskId: string): void {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  const note = new Notification(title, { body, tag: `wegent:${taskId}` });
  note.onclick = () => {
    window.focus();
    navigate(href.task(taskId));
    note.close();
  };
}

/** Called for every live frame: counts and notifies what matters while the tab is hidden. */
export function noticeFrame(frame: LiveFrame, taskTitle: (taskId: string) => string): void {
  if (!document.hidden) return;
  if (frame.type === "input:request") {
    unseen += 1;
    const what =
      frame.request.kind === "question"
        ? "The agent has a question for you."
        : `The agent asks to use ${frame.request.tool}.`;
    notify(taskTitle(frame.taskId), what, frame.taskId);
    render();
  } else if (frame.type === "message:done") {
    unseen += 1;
    const what =
      frame.status === "completed" ? "The agent finished." : `The task ended: ${frame.status}.`;
    notify(taskTitle(frame.taskId), what, frame.taskId);
    render();
  }
}

/** How many requests wait for the user, over all tasks (shown in the title). */
export function setWaitingCount(count: number): void {
  if (count === waiting) return;
  waiting = count;
  render();
}

/** Whether to offer turning notifications on: supported, not decided, not dismissed. */
export function useNotificationOffer(): {
  offer: boolean;
  enable: () => void;
  dismiss: () => void;
} {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((n) => n + 1);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  const offer =
    notificationsSupported() &&
    Notification.permission === "default" &&
    localStorage.getItem(DISMISSED_KEY) !== "1";
  return {
    offer,
    enable: () => {
      void Notification.requestPermission().then(() => render());
    },
    dismiss: () => {
      localStorage.setItem(DISMISSED_KEY, "1");
      render();
    },
  };
}
