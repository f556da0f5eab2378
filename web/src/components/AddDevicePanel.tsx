import { useId, useState } from "react";
import { api } from "../api";
import { useAction } from "../lib/action";
import { CreatedTokenBody } from "@wegent/protocol";
import { CopyButton } from "./CopyButton";

/**
 * The platform serves the executor built with it (`/wegent-executor.tgz`), so the command always
 * runs the matching version and never a same-named package from elsewhere.
 */
function executorPackage(origin: string): string {
  return `${origin}/wegent-executor.tgz`;
}

/** Pairing: no secret at all on the command line; the executor prints a code to approve. */
export function pairCommand(origin: string): string {
  return `npx -y ${executorPackage(origin)} --mode local --backend-url ${origin}`;
}

/**
 * A device token read from a prompt into the environment: never in argv (which `ps` shows to
 * every local user) and never in the shell history.
 */
export function promptCommand(origin: string): string {
  // printf + `read -rs` works the same in bash and zsh (zsh's `read -p` means something else).
  return `printf 'Device token: '; read -rs WEGENT_TOKEN; echo; export WEGENT_TOKEN; ${pairCommand(origin)}`;
}

/** How to connect a computer: pairing first, or a device-only token typed at a prompt. */
export function AddDevicePanel(props: { origin?: string }) {
  const origin = props.origin ?? window.location.origin;
  const [token, setToken] = useState<string | null>(null);
  const [expiresAt, setExpiresAt] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const id = useId();

  function createToken() {
    return run(async () => {
      // Connect-only, bound to the first device that uses it: worth one device if it leaks.
      const created = await api("POST", "/api/tokens", CreatedTokenBody, {
        name: `Device token ${new Date().toISOString().slice(0, 10)}`,
        scope: "device",
        days: 1,
      });
      setToken(created.token);
      setExpiresAt(created.expiresAt);
    });
  }

  const pair = pairCommand(origin);
  const prompt = promptCommand(origin);
  return (
    <section className="card stack" aria-labelledby={`${id}-title`} data-testid="add-device">
      <h2 id={`${id}-title`}>Add a device</h2>
      <p className="muted">
        On the computer the agent should work on (Node.js 20 or newer, Claude Code installed), run:
      </p>
      <div className="command">
        <code data-testid="add-device-command">{pair}</code>
        <CopyButton text={pair} testId="copy-command" />
      </div>
      <p className="muted">
        It prints <code>Pairing code: ABCD-EFGH</code> and a link. Open the link, or type the code
        under “Approve a pairing code”. The computer then gets its own device credential, rotated at
        every connection; no token is ever typed.
      </p>
      <h3>Or with a device token</h3>
      <p className="muted">
        For computers without a browser at hand: a token that can only connect one device. The
        command asks for it at a prompt, so it never appears on the command line or in the shell
        history.
      </p>
      <div className="command">
        <code data-testid="add-device-env">{prompt}</code>
        <CopyButton text={prompt} testId="copy-env" />
      </div>
      {token ? (
        <div className="notice stack" role="status">
          <p>
            Paste this at the prompt. It is shown only this once
            {expiresAt ? ` and expires ${new Date(expiresAt).toLocaleString()}` : ""}; once used it
            works for that one device only.
          </p>
          <div className="command">
            <code data-testid="add-device-token">{token}</code>
            <CopyButton text={token} testId="copy-token" />
          </div>
        </div>
      ) : (
        <div className="row">
          <button
            type="button"
            onClick={createToken}
            disabled={busy}
            data-testid="add-device-create-token"
          >
            {busy ? "Creating…" : "Create a device token (valid 1 day)"}
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
