import { useId, useState } from "react";
import { api, errorText } from "../api";
import { CreatedTokenBody } from "@wegent/protocol";
import { CopyButton } from "./CopyButton";

const PLACEHOLDER = "<TOKEN>";

/**
 * The platform serves the executor built with it (`/wegent-executor.tgz`), so the command always
 * runs the matching version and never a same-named package from elsewhere.
 */
function executorPackage(origin: string): string {
  return `${origin}/wegent-executor.tgz`;
}

export function runCommand(token: string, origin: string): string {
  return `npx -y ${executorPackage(origin)} --mode local --token ${token} --backend-url ${origin}`;
}

export function envCommand(token: string, origin: string): string {
  return `WEGENT_TOKEN=${token} WEGENT_BACKEND_URL=${origin} npx -y ${executorPackage(origin)} --mode local`;
}

/** How to connect a computer: the exact command, with a token made for it on request. */
export function AddDevicePanel(props: { origin?: string }) {
  const origin = props.origin ?? window.location.origin;
  const [token, setToken] = useState<string | null>(null);
  const [expiresAt, setExpiresAt] = useState<string | null>(null);
  const [days, setDays] = useState(7);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  async function createToken() {
    setBusy(true);
    setError(null);
    try {
      const created = await api("POST", "/api/tokens", CreatedTokenBody, {
        name: `Device token ${new Date().toISOString().slice(0, 10)}`,
        days,
      });
      setToken(created.token);
      setExpiresAt(created.expiresAt);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  const shown = token ?? PLACEHOLDER;
  const command = runCommand(shown, origin);
  const env = envCommand(shown, origin);
  return (
    <section className="card stack" aria-labelledby={`${id}-title`} data-testid="add-device">
      <h2 id={`${id}-title`}>Add a device</h2>
      <p className="muted">
        On the computer the agent should work on (Node.js 20 or newer, Claude Code installed), run:
      </p>
      <div className="command">
        <code data-testid="add-device-command">{command}</code>
        <CopyButton text={command} testId="copy-command" />
      </div>
      <p className="muted">Or with environment variables:</p>
      <div className="command">
        <code data-testid="add-device-env">{env}</code>
        <CopyButton text={env} testId="copy-env" />
      </div>
      {token ? (
        <p className="notice" role="status">
          A new token is filled in above. It is shown only this once
          {expiresAt ? ` and expires ${new Date(expiresAt).toLocaleDateString()}` : ""}: copy the
          command now.
        </p>
      ) : (
        <div className="row">
          <label htmlFor={`${id}-days`}>Token lifetime</label>
          <select id={`${id}-days`} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {[1, 7, 30, 90].map((d) => (
              <option key={d} value={d}>
                {d === 1 ? "1 day" : `${d} days`}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="primary"
            onClick={createToken}
            disabled={busy}
            data-testid="add-device-create-token"
          >
            {busy ? "Creating…" : "Create a token for this device"}
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
