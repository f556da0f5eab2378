import { type AccountAction, type AccountAuditEntry, AccountAuditPage } from "@wegent/protocol";
import { fullDate } from "../lib/time";
import { PageButtons, usePagedList } from "./paged-list";

const ACTION_TEXT: Record<AccountAction, string> = {
  "mcp_server.create": "Defined an MCP server",
  "mcp_server.update": "Switched an MCP server",
  "mcp_server.delete": "Removed an MCP server",
  "skill.upload": "Uploaded a skill",
  "skill.update": "Switched a skill",
  "skill.delete": "Removed a skill",
  "runtime_settings.update": "Changed runtime settings",
  "settings.update": "Changed the default permission mode",
  "pairing.approve": "Approved a pairing",
  "input.answer": "Answered an agent",
  "message.permission_mode": "Asked for a permission mode in a message",
  "push_subscription.create": "Turned on notifications in a browser",
  "push_subscription.delete": "Turned off notifications in a browser",
  "push_preferences.update": "Changed which notifications are sent",
};

/**
 * What only a person may do, as the owner's audit shows it (GET /api/audit): who (this
 * browser's sessions, or an API token that was refused), what, when, outcome.
 */
export function AccountAudit() {
  const { entries, cursor, loaded, error, load } = usePagedList<AccountAuditEntry>(
    "/api/audit?limit=20",
    AccountAuditPage,
  );

  return (
    <section aria-labelledby="account-audit-title" data-testid="account-audit">
      <h2 id="account-audit-title">Audit</h2>
      <p className="muted">
        Defining MCP servers and skills, changing runtime settings or the default permission mode,
        approving a pairing and answering an agent need you, signed in: an API token is refused and
        shown here.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {loaded && entries.length === 0 && <p className="muted">Nothing yet.</p>}
      {entries.length > 0 && (
        <div className="table-wrap">
          <table className="audit">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>What</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr
                  key={entry.id}
                  data-testid="account-audit-entry"
                  data-action={entry.action}
                  data-via={entry.via}
                >
                  <td title={fullDate(entry.at)}>{new Date(entry.at).toLocaleString()}</td>
                  <td>
                    {entry.via === "session"
                      ? "you, signed in"
                      : `API token ${entry.viaName ?? entry.viaId.slice(0, 8)}`}
                  </td>
                  <td title={entry.detail ?? undefined}>
                    {ACTION_TEXT[entry.action]}
                    {entry.target ? (
                      <>
                        {" "}
                        <code>{entry.target}</code>
                      </>
                    ) : null}
                  </td>
                  <td>
                    {entry.outcome === "ok"
                      ? "done"
                      : entry.outcome === "session_required"
                        ? "refused: needs you signed in"
                        : `failed: ${entry.outcome}`}
                  </td>
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
