import type { LiveFocus } from "@wegent/protocol";
import { parseRoute } from "../lib/route";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What this tab shows: visible, focused, and the task open in it (if any). */
export function currentFocus(): LiveFocus {
  const route = parseRoute(window.location.hash);
  return {
    type: "live:focus",
    visible: document.visibilityState === "visible",
    focused: document.hasFocus(),
    // Only a well-formed id: the channel closes on a frame it cannot parse.
    taskId: route.page === "chat" && route.taskId && UUID.test(route.taskId) ? route.taskId : null,
  };
}

/**
 * Reports the tab's focus now and whenever it changes, so a push is held back only while the
 * user is looking at that very task. Returns the function that stops watching.
 */
export function watchFocus(report: (focus: LiveFocus) => void): () => void {
  let last = "";
  const update = () => {
    const focus = currentFocus();
    const key = JSON.stringify(focus);
    if (key === last) return;
    last = key;
    report(focus);
  };
  const events = ["visibilitychange", "focus", "blur", "hashchange", "pagehide"] as const;
  for (const e of events) window.addEventListener(e, update);
  document.addEventListener("visibilitychange", update);
  update();
  return () => {
    for (const e of events) window.removeEventListener(e, update);
    document.removeEventListener("visibilitychange", update);
  };
}
