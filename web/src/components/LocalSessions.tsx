import { useCallback, useEffect, useState } from "react";
import { type Device, type LocalSession, LocalSessionsBody } from "@wegent/protocol";
import { api, errorText } from "../api";
import { href, navigate } from "../lib/route";
import { fromNow, useNow } from "../lib/time";
import { useStore } from "../state/store";
import { EarlierConversation } from "./EarlierConversation";

/**
 * "On this device": Claude Code sessions and Codex threads already on the user's machines
 * (started in a terminal), grouped by project, each with a Continue button (it goes on with
 * the agent that made it). Read from the device on demand.
 */
export function LocalSessions() {
  const { state } = useStore();
  const devices = state.devices.filter(
    (d) => d.type === "local" && d.status !== "offline" && d.projects.length > 0,
  );
  if (devices.length === 0) return null;
  return (
    <section className="local-sessions" aria-label="On this device" data-testid="local-sessions">
      <h2>On this device</h2>
      {devices.map((device) => (
        <DeviceSessions key={device.id} device={device} showName={devices.length > 1} />
      ))}
    </section>
  );
}

function DeviceSessions(props: { device: Device; showName: boolean }) {
  const { device } = props;
  const { continueSession } = useStore();
  const now = useNow();
  const [sessions, setSessions] = useState<LocalSession[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The session whose preview is open (its title was clicked). */
  const [previewed, setPreviewed] = useState<string | null>(null);
  const load = useCallback(() => {
    setError(null);
    api("GET", `/api/devices/${encodeURIComponent(device.id)}/sessions`, LocalSessionsBody)
      .then((body) => setSessions(body.sessions))
      .catch((failure: unknown) => setError(errorText(failure)));
  }, [device.id]);
  useEffect(load, [load]);

  return (
    <div className="device-sessions">
      <div className="device-sessions-head">
        {props.showName && <h3>{device.name}</h3>}
        <button type="button" className="quiet" onClick={load} data-testid="sessions-refresh">
          Refresh
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {sessions === null && !error && <p className="muted">Loading sessions…</p>}
      {sessions?.length === 0 && (
        <p className="muted">No Claude Code sessions or Codex threads in its projects.</p>
      )}
      {device.projects.map((project) => {
        const own = sessions?.filter((s) => s.projectId === project.id) ?? [];
        if (own.length === 0) return null;
        return (
          <div key={project.id} className="project-sessions">
            <h4 title={project.path}>{project.name}</h4>
            <ul>
              {own.map((session) => (
                <li key={session.id} data-testid={`local-session-${session.id}`}>
                  <button
                    type="button"
                    className="task-title link-like"
                    aria-expanded={previewed === session.id}
                    data-testid={`preview-${session.id}`}
                    onClick={() =>
                      setPreviewed((open) => (open === session.id ? null : session.id))
                    }
                  >
                    {session.title}
                  </button>
                  <span
                    className="task-meta muted"
                    data-testid={`local-session-meta-${session.id}`}
                  >
                    {metaOf(session, fromNow(session.updatedAt, now))}
                  </span>
                  <button
                    type="button"
                    data-testid={`continue-${session.id}`}
                    onClick={() => {
                      continueSession({
                        deviceId: device.id,
                        projectId: project.id,
                        sessionId: session.id,
                        title: session.title,
                        runtime: session.runtime,
                      });
                      navigate(href.newChat);
                    }}
                  >
                    Continue
                  </button>
                  {previewed === session.id && (
                    <EarlierConversation deviceId={device.id} sessionId={session.id} />
                  )}
                </li>
              ))}
            </ul>
          </div>
        );
      })}
    </div>
  );
}

/** "Codex · 4 messages · 2 min ago"; no count when the device could not give one in time. */
function metaOf(session: LocalSession, when: string): string {
  const parts = [
    ...(session.runtime === "codex" ? ["Codex"] : []),
    ...(session.messageCount === null
      ? []
      : [`${session.messageCount} message${session.messageCount === 1 ? "" : "s"}`]),
    when,
  ];
  return parts.join(" · ");
}
