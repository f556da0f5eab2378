import { type CommandAuditEntry, CommandAuditPage } from "@wegent/protocol";
import { fullDate } from "../lib/time";
import { PageButtons, usePagedList } from "./paged-list";

/** The commands run on a device (the audit), newest first, a page at a time. */
export function CommandAudit(props: { deviceId: string }) {
  const { entries, cursor, loaded, error, load } = usePagedList<CommandAuditEntry>(
    `/api/devices/${encodeURIComponent(props.deviceId)}/audit?limit=20`,
    CommandAuditPage,
  );

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
      <PageButtons cursor={cursor} load={load} />
    </section>
  );
}
