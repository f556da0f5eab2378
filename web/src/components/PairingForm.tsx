import { useId, useState, type FormEvent } from "react";
import { PairingApproved } from "@wegent/protocol";
import { api, errorText } from "../api";

/**
 * Approves the pairing code an executor printed (`Pairing code: ABCD-EFGH`). Opening the URL it
 * prints (`/devices?pair=ABCD-EFGH`) fills the code in; approving is still the owner's click.
 */
export function PairingForm(props: { initialCode?: string | null }) {
  const [code, setCode] = useState(props.initialCode ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [approved, setApproved] = useState<PairingApproved | null>(null);
  const id = useId();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setApproved(null);
    try {
      const body = await api("POST", "/api/pairings", PairingApproved, { code: code.trim() });
      setApproved(body);
      setCode("");
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="card stack"
      onSubmit={submit}
      aria-labelledby={`${id}-title`}
      data-testid="pair-form"
    >
      <h2 id={`${id}-title`}>Approve a pairing code</h2>
      <p className="muted">
        Only approve a code shown by a computer you control: approving gives it a credential for
        your account's devices page and lets it run your tasks.
      </p>
      <div className="row">
        <label htmlFor={`${id}-code`}>Pairing code</label>
        <input
          id={`${id}-code`}
          value={code}
          onChange={(e) => setCode(e.target.value)}
          placeholder="ABCD-EFGH"
          maxLength={12}
          autoComplete="off"
          spellCheck={false}
          data-testid="pair-code"
        />
        <button
          type="submit"
          className="primary"
          disabled={busy || code.trim().length < 8}
          data-testid="pair-approve"
        >
          {busy ? "Approving…" : "Approve"}
        </button>
      </div>
      {approved && (
        <p className="notice" role="status" data-testid="pair-result">
          Approved “{approved.name}” ({approved.deviceId}). It appears in the list as soon as its
          executor connects.
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="pair-error">
          {error}
        </p>
      )}
    </form>
  );
}
