import { useCallback, useEffect, useState } from "react";
import { GitLandResult, GitLandStatus, type Task } from "@wegent/protocol";
import { errorText } from "../api";
import { runBuiltin, runCommand } from "../commands/run";
import { CopyButton } from "./CopyButton";

type Action = "commit" | "merge" | "push" | "pr";

/** Quotes a path for a POSIX shell line the user copies. */
const quote = (text: string) =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * Land the task's work from the Changes tab: Commit on its branch, Merge into the branch it
 * started from, Push, Open a pull request, and the lines to reach the branch by hand. Every
 * action is a command of the device (audited); a refusal shows its reason.
 */
export function LandPanel(props: {
  task: Task;
  deviceId: string;
  changes: number;
  onLanded: () => void;
}) {
  const { task, deviceId, onLanded } = props;
  const [status, setStatus] = useState<GitLandStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<Action | null>(null);
  const [outcome, setOutcome] = useState<GitLandResult | null>(null);
  const [message, setMessage] = useState(task.title || "Changes by the agent");
  const [prTitle, setPrTitle] = useState(task.title || "Changes by the agent");

  const refresh = useCallback(async () => {
    try {
      setStatus(await runBuiltin(deviceId, "git.status", GitLandStatus, {}, task.id));
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, [deviceId, task.id]);

  useEffect(() => {
    void refresh();
  }, [refresh, props.changes, task.status]);

  async function act(action: Action) {
    setBusy(action);
    setOutcome(null);
    setError(null);
    const args =
      action === "commit"
        ? { message }
        : action === "pr"
          ? { title: prTitle, body: `From Wegent task ${task.id}.` }
          : {};
    try {
      const result = await runCommand(deviceId, `git.${action}`, args, task.id);
      const parsed = GitLandResult.safeParse(JSON.parse(result.stdout || "null"));
      if (parsed.success) setOutcome(parsed.data);
      else setError(result.stderr.trim() || `git.${action} failed`);
      onLanded();
      await refresh();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(null);
    }
  }

  if (!status) {
    return error ? (
      <p className="error" role="alert" data-testid="land-error">
        {error}
      </p>
    ) : null;
  }
  if (status.refusal === "not_a_worktree") return null;
  const running = task.status === "running" || task.status === "waiting_input";
  const base = status.base ?? "its base";
  return (
    <section className="land" aria-label="Land the work" data-testid="land">
      <p className="muted land-where" data-testid="land-where">
        On <code>{status.branch}</code> from <code>{base}</code>
        {` · ${status.uncommitted} uncommitted · ${status.ahead} commit${status.ahead === 1 ? "" : "s"} ahead`}
        {status.behind > 0 ? ` · ${base} has ${status.behind} newer` : ""}
      </p>
      {status.uncommitted > 0 && (
        <form
          className="land-commit"
          onSubmit={(event) => {
            event.preventDefault();
            void act("commit");
          }}
        >
          <label>
            <span className="visually-hidden">Commit message</span>
            <input
              value={message}
              onChange={(event) => setMessage(event.target.value)}
              data-testid="commit-message"
              aria-label="Commit message"
            />
          </label>
          <button
            type="submit"
            disabled={busy !== null || running || !message.trim()}
            data-testid="land-commit"
          >
            {busy === "commit" ? "Committing…" : "Commit"}
          </button>
        </form>
      )}
      <div className="land-actions">
        {status.base && (
          <button
            type="button"
            disabled={busy !== null || running || status.ahead === 0 || status.uncommitted > 0}
            title={status.uncommitted > 0 ? "Commit first" : undefined}
            onClick={() => void act("merge")}
            data-testid="land-merge"
          >
            {busy === "merge" ? "Merging…" : `Merge into ${status.base}`}
          </button>
        )}
        {status.remote && (
          <button
            type="button"
            disabled={busy !== null || running || status.uncommitted > 0}
            onClick={() => void act("push")}
            data-testid="land-push"
          >
            {busy === "push" ? "Pushing…" : `Push to ${status.remote}`}
          </button>
        )}
        {status.gh && status.remote && status.base && (
          <span className="land-pr">
            <input
              value={prTitle}
              onChange={(event) => setPrTitle(event.target.value)}
              aria-label="Pull request title"
              data-testid="pr-title"
            />
            <button
              type="button"
              disabled={busy !== null || running || status.uncommitted > 0 || !prTitle.trim()}
              onClick={() => void act("pr")}
              data-testid="land-pr"
            >
              {busy === "pr" ? "Opening…" : "Open a pull request"}
            </button>
          </span>
        )}
      </div>
      {outcome && (
        <p
          className={outcome.ok ? "land-done" : "error"}
          role={outcome.ok ? "status" : "alert"}
          data-testid="land-outcome"
          data-ok={outcome.ok}
          data-refusal={outcome.refusal ?? ""}
        >
          {outcome.message}
          {outcome.url && (
            <>
              {" "}
              <a href={outcome.url} target="_blank" rel="noopener noreferrer" data-testid="pr-url">
                {outcome.url}
              </a>
            </>
          )}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="land-error">
          {error}
        </p>
      )}
      {status.worktree && status.project && status.branch && (
        <BranchLines
          worktree={status.worktree}
          project={status.project}
          branch={status.branch}
          base={status.base}
        />
      )}
    </section>
  );
}

/** How to reach the branch by hand: it is checked out in the task's (hidden) worktree. */
function BranchLines(props: {
  worktree: string;
  project: string;
  branch: string;
  base: string | null;
}) {
  const lines = [
    { what: "Work in the task's worktree", line: `cd ${quote(props.worktree)}` },
    {
      what: "See its commits",
      line: `git -C ${quote(props.project)} log --oneline ${props.base ? `${props.base}..` : ""}${props.branch}`,
    },
    { what: "Merge it yourself", line: `git -C ${quote(props.project)} merge ${props.branch}` },
  ];
  return (
    <details className="branch-lines" data-testid="branch-lines">
      <summary>How to get this branch</summary>
      <ul>
        {lines.map(({ what, line }) => (
          <li key={line}>
            <span className="muted">{what}</span>
            <code>{line}</code>
            <CopyButton text={line} />
          </li>
        ))}
      </ul>
      <p className="muted">
        <code>git switch {props.branch}</code> works elsewhere once the task's worktree is removed
        (the branch can be checked out in one place at a time).
      </p>
    </details>
  );
}
