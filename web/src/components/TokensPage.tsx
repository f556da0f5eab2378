import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { ApiToken, type CreatedToken, type TokenScope } from "@wegent/protocol";
import { z } from "zod";
import { api, errorText } from "../api";
import { fromNow, fullDate, useNow } from "../lib/time";
import { CreatedTokenBody, TokensBody } from "@wegent/protocol";

/** What each scope is for, in the words the page uses everywhere. */
export const SCOPE_LABELS: Record<TokenScope, string> = {
  device: "Device connect",
  user: "Account API (scripts)",
  cloud: "Cloud operator",
};

const SCOPE_HELP: Record<TokenScope, string> = {
  device:
    "Connects one computer's executor and nothing else; bound to the first device that uses it.",
  user: "Your account's API for your own scripts: tasks, devices, reading settings. Not what only you may do (MCP servers, skills, settings, approving a pairing, answering an agent). Never give it to an executor.",
  cloud: "For a cloud-pool executor run by an admin; bound to the first pool executor.",
};

const RevokedBody = z.object({ token: ApiToken });
import { CopyButton } from "./CopyButton";
import { useAction } from "../lib/action";

export function TokensPage() {
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The secret lives only here, in memory, until dismissed: it is never fetched again.
  const [created, setCreated] = useState<CreatedToken | null>(null);

  const load = useCallback(async () => {
    try {
      const body = await api("GET", "/api/tokens", TokensBody);
      setTokens(body.tokens);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <main className="page" aria-labelledby="tokens-title">
      <h1 id="tokens-title">API Tokens</h1>
      <p className="muted">
        To connect a computer, prefer pairing (Devices page). A device-connect token is worth one
        device; an account API token is for your own scripts. Tokens expire; a device whose token is
        about to expire is flagged at the top of every page.
      </p>
      {created ? (
        <CreatedTokenNotice token={created} onDone={() => setCreated(null)} />
      ) : (
        <CreateTokenForm
          onCreated={(token) => {
            setCreated(token);
            void load();
          }}
        />
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <TokenList tokens={tokens} onRevoked={load} />
    </main>
  );
}

function CreateTokenForm(props: { onCreated: (token: CreatedToken) => void }) {
  const [name, setName] = useState("");
  const [days, setDays] = useState(7);
  const [scope, setScope] = useState<TokenScope>("device");
  const { busy, error, run } = useAction();
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      const token = await api("POST", "/api/tokens", CreatedTokenBody, {
        name: name.trim(),
        scope,
        days,
      });
      setName("");
      props.onCreated(token);
    });
  }

  return (
    <form
      className="card stack"
      onSubmit={submit}
      aria-labelledby={`${id}-title`}
      data-testid="token-form"
    >
      <h2 id={`${id}-title`}>Create a token</h2>
      <label htmlFor={`${id}-name`}>Name</label>
      <input
        id={`${id}-name`}
        required
        maxLength={100}
        placeholder="e.g. work laptop"
        value={name}
        onChange={(e) => setName(e.target.value)}
        data-testid="token-name"
      />
      <label htmlFor={`${id}-scope`}>What it may do</label>
      <select
        id={`${id}-scope`}
        value={scope}
        onChange={(e) => setScope(e.target.value as TokenScope)}
        data-testid="token-scope"
      >
        {(["device", "user", "cloud"] as const).map((s) => (
          <option key={s} value={s}>
            {SCOPE_LABELS[s]}
          </option>
        ))}
      </select>
      <p className="muted" data-testid="token-scope-help">
        {SCOPE_HELP[scope]}
      </p>
      <label htmlFor={`${id}-days`}>Lifetime in days (1 to 90)</label>
      <input
        id={`${id}-days`}
        type="number"
        min={1}
        max={90}
        required
        value={days}
        onChange={(e) => setDays(Number(e.target.value))}
        data-testid="token-days"
      />
      {error && (
        <p className="error" role="alert" data-testid="token-error">
          {error}
        </p>
      )}
      <button
        type="submit"
        className="primary"
        disabled={busy || !name.trim()}
        data-testid="token-create"
      >
        {busy ? "Creating…" : "Create token"}
      </button>
    </form>
  );
}

function CreatedTokenNotice(props: { token: CreatedToken; onDone: () => void }) {
  return (
    <section className="card stack notice" aria-label="New token" data-testid="token-created">
      <h2>Token “{props.token.name}” created</h2>
      <p>
        Copy it now: <strong>it will not be shown again.</strong> It expires{" "}
        {fullDate(props.token.expiresAt)}.
      </p>
      <div className="command">
        <code data-testid="token-value">{props.token.token}</code>
        <CopyButton text={props.token.token} testId="token-copy" />
      </div>
      <button type="button" onClick={props.onDone} data-testid="token-done">
        Done, I have copied it
      </button>
    </section>
  );
}

function TokenList(props: { tokens: ApiToken[] | null; onRevoked: () => Promise<void> }) {
  const now = useNow();
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  async function revoke(id: string) {
    setError(null);
    try {
      await api("DELETE", `/api/tokens/${encodeURIComponent(id)}`, RevokedBody);
      setConfirming(null);
      await props.onRevoked();
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  if (props.tokens === null) return <p className="muted">Loading tokens…</p>;
  if (props.tokens.length === 0) return <p className="muted">No tokens yet.</p>;
  return (
    <section aria-label="Your tokens">
      <h2>Your tokens</h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="token-list" data-testid="token-list">
        {props.tokens.map((token) => {
          const expired = Date.parse(token.expiresAt) <= now;
          const state = token.revokedAt ? "revoked" : expired ? "expired" : "active";
          return (
            <li key={token.id} className={`card token ${state}`} data-testid={`token-${token.id}`}>
              <div className="token-head">
                <strong>{token.name}</strong>
                <span className="badge" data-testid="token-scope-label">
                  {SCOPE_LABELS[token.scope]}
                </span>
                {state !== "active" && <span className="badge">{state}</span>}
              </div>
              <dl className="facts">
                {token.boundDeviceId && (
                  <>
                    <dt>Bound to device</dt>
                    <dd>{token.boundDeviceId}</dd>
                  </>
                )}
                <dt>Expires</dt>
                <dd title={fullDate(token.expiresAt)}>{fromNow(token.expiresAt, now)}</dd>
                <dt>Last used</dt>
                <dd title={fullDate(token.lastUsedAt)}>{fromNow(token.lastUsedAt, now)}</dd>
                <dt>Created</dt>
                <dd title={fullDate(token.createdAt)}>{fromNow(token.createdAt, now)}</dd>
              </dl>
              {state === "active" &&
                (confirming === token.id ? (
                  <div className="row" role="group" aria-label="Confirm revoke">
                    <span>Executors using it disconnect.</span>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => void revoke(token.id)}
                      data-testid="token-revoke-confirm"
                    >
                      Revoke
                    </button>
                    <button type="button" onClick={() => setConfirming(null)}>
                      Cancel
                    </button>
                  </div>
                ) : (
                  <button
                    type="button"
                    onClick={() => setConfirming(token.id)}
                    data-testid="token-revoke"
                  >
                    Revoke
                  </button>
                ))}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
