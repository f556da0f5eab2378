import { useEffect, useState } from "react";
import { AttentionBody, type AttentionItem } from "@wegent/protocol";
import { z } from "zod";
import { api, errorText } from "../api";
import { href } from "../lib/route";
import { fullDate } from "../lib/time";
import { useStore } from "../state/store";

const REASON_TEXT: Record<AttentionItem["reason"], string> = {
  needs_input: "Waits for your answer",
  failed: "Failed",
  finished: "Finished",
};

/** Marks a task seen when it is opened: it leaves the inbox (until its next reply ends). */
export function useMarkSeen(taskId: string | null): void {
  useEffect(() => {
    if (!taskId || !/^[0-9a-f-]{36}$/i.test(taskId)) return;
    void api("POST", `/api/tasks/${taskId}/seen`, z.unknown()).catch(() => undefined);
  }, [taskId]);
}

/** One inbox across devices and the cloud: what waits for the user, open requests first. */
export function InboxPage() {
  const [items, setItems] = useState<AttentionItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { state } = useStore();
  const devices = new Map(state.devices.map((d) => [d.id, d.name]));
  // Reload when anything the channel tells about tasks changes (a request opens, a reply ends).
  const pulse = Object.values(state.pendingInput).reduce((n, l) => n + l.length, 0);
  const statuses = state.tasks.map((t) => t.status).join();

  useEffect(() => {
    let live = true;
    api("GET", "/api/attention", AttentionBody)
      .then((body) => live && setItems(body.items))
      .catch((failure: unknown) => live && setError(errorText(failure)));
    return () => {
      live = false;
    };
  }, [pulse, statuses, state.tasks.length]);

  return (
    <main className="page inbox" aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox{items && items.length > 0 ? ` (${items.length})` : ""}</h1>
      <p className="muted">
        Everything that waits for you, on every device and in the cloud: requests first, then
        replies you have not looked at yet.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {items && items.length === 0 && <p className="muted">Nothing waits for you.</p>}
      {items && items.length > 0 && (
        <ul className="inbox-items" data-testid="inbox-items">
          {items.map((item) => (
            <li key={item.taskId} data-testid="inbox-item" data-reason={item.reason}>
              <a href={href.task(item.taskId)}>{item.title}</a>{" "}
              <span className={`badge ${item.reason}`}>{REASON_TEXT[item.reason]}</span>{" "}
              <span className="muted">
                {item.target === "cloud"
                  ? "Cloud"
                  : (devices.get(item.deviceId ?? "") ?? "A device")}{" "}
                · {fullDate(item.updatedAt)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
