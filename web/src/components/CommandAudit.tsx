import { useCallback, useEffect, useState } from "react";
import { type CommandAuditEntry, CommandAuditPage } from "@wegent/protocol";
import { api, errorText } from "../api";
import { fullDate } from "../lib/time";

/** The commands run on a device (the audit), newest first, a page at a time. */
export function CommandAudit(props: { deviceId: string }) {
  const [entries, setEntries] = useState<CommandAuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const base = `/api/devices/${encodeURIComponent(props.deviceId)}/audit?limit=20`;

  const load = useCallback(
    async (after: string | null) => {
      setError(null);
      try {
        const page = await api("GET", after ? `${base}&cursor=${after}` : base, CommandAuditPage);
        setEntries((held) => (after ? [...held, ...page.entries] : page.entries));
        setCursor(page.nextCursor);
        setLoaded(true);
      } catch (failure) {
        setError(errorText(failure));
      }
    },
    [base],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section aria-label="Command audit" data-testid="command-audit">
      <h3>Commands run here</h3>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {loaded && entries.length === 0 && <p className="muted">No commands yet.</p>}
      {entries.length > 0 && (
        <div className="table-wrap">
          <table className="audit">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Command</th>
                <th>Result</th>
                <th>Time</th>
                <th>Bytes</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} data-testid="audit-entry" data-key={entry.key}>
                  <td title={fullDate(entry.at)}>{new Date(entry.at).toLocaleString()}</td>
                  <td>{entry.username ?? entry.userId}</td>
                  <td title={`args sha256 ${entry.argsDigest}`}>
                    <code>{entry.key}</code>
                  </td>
                  <td>
                    {entry.outcome === "ok" ? `exit ${entry.exitCode ?? "killed"}` : entry.outcome}
                  </td>
                  <td>{entry.durationMs === null ? "" : `${entry.durationMs} ms`}</td>
                  <td>{entry.bytes ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row">
        <button type="button" className="quiet" onClick={() => void load(null)}>
          Refresh
        </button>
        {cursor && (
          <button type="button" className="quiet" onClick={() => void load(cursor)}>
            Older
          </button>
        )}
      </div>
    </section>
  );
}
