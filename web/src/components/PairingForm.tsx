import { useEffect, useId, useState, type FormEvent } from "react";
import { PairingApproved, PairingCode, PairingDetails } from "@wegent/protocol";
import { api, errorText } from "../api";
import { useAction } from "../lib/action";
import { fromNow, fullDate, useNow } from "../lib/time";

/**
 * Approves the pairing code an executor printed (`Pairing code: ABCD-EFGH`). Opening the URL it
 * prints (`/devices?pair=ABCD-EFGH`) fills the code in; approving is still the owner's click,
 * after the form has shown which computer asks (name, platform, executor version, address). A
 * code naming one of the owner's devices replaces it: only an offline one, and only with an
 * explicit "Replace …" confirmation (the API's `replaceDevice: true`).
 */
export function PairingForm(props: { initialCode?: string | null }) {
  const [code, setCode] = useState(props.initialCode ?? "");
  const { busy, error, setError, run } = useAction();
  const [approved, setApproved] = useState<PairingApproved | null>(null);
  const [details, setDetails] = useState<PairingDetails | null>(null);
  const [lookup, setLookup] = useState<"idle" | "loading" | "failed">("idle");
  const [confirmReplace, setConfirmReplace] = useState(false);
  const now = useNow();
  const id = useId();
  const parsed = PairingCode.safeParse(code);
  const normalized = parsed.success ? parsed.data : null;

  useEffect(() => {
    setDetails(null);
    setConfirmReplace(false);
    if (normalized === null) {
      setLookup("idle");
      return;
    }
    let current = true;
    setLookup("loading");
    setError(null);
    api("GET", `/api/pairings/code/${normalized}`, PairingDetails)
      .then((found) => {
        if (!current) return;
        setDetails(found);
        setLookup("idle");
      })
      .catch((failure: unknown) => {
        if (!current) return;
        setError(errorText(failure));
        setLookup("failed");
      });
    return () => {
      current = false;
    };
  }, [normalized]);

  const existing = details?.existing ?? null;
  const existingOnline = existing !== null && existing.status !== "offline";
  const canApprove =
    details !== null && !busy && !existingOnline && (existing === null || confirmReplace);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!details || !canApprove) return;
    setApproved(null);
    await run(async () => {
      const body = await api("POST", "/api/pairings", PairingApproved, {
        code: code.trim(),
        ...(existing ? { replaceDevice: true } : {}),
      });
      setApproved(body);
      setCode("");
    });
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
        <button type="submit" className="primary" disabled={!canApprove} data-testid="pair-approve">
          {busy ? "Approving…" : existing && !existingOnline ? "Replace and approve" : "Approve"}
        </button>
      </div>
      {lookup === "loading" && (
        <p className="muted" role="status">
          Looking up the code…
        </p>
      )}
      {details && (
        <div data-testid="pair-details">
          <p>This code was started by:</p>
          <dl className="facts">
            <dt>Name</dt>
            <dd data-testid="pair-device-name">{details.name}</dd>
            <dt>Platform</dt>
            <dd data-testid="pair-device-platform">{details.platform}</dd>
            <dt>Executor version</dt>
            <dd data-testid="pair-device-version">
              {details.version ?? "not sent (older executor)"}
            </dd>
            <dt>Requested from</dt>
            <dd data-testid="pair-device-address">{details.address ?? "unknown address"}</dd>
            <dt>Device id</dt>
            <dd>
              <code>{details.deviceId}</code>
            </dd>
            <dt>Code expires</dt>
            <dd title={fullDate(details.expiresAt)}>{fromNow(details.expiresAt, now)}</dd>
          </dl>
          {existing && existingOnline && (
            <p className="error" role="alert" data-testid="pair-online">
              This code names your device “{existing.name}”, which is connected right now. A pairing
              never replaces a connected device: if you did not just start this code on that
              computer, someone else did. Do not approve it.
            </p>
          )}
          {existing && !existingOnline && (
            <label className="row" data-testid="pair-replace">
              <input
                type="checkbox"
                checked={confirmReplace}
                onChange={(e) => setConfirmReplace(e.target.checked)}
                data-testid="pair-replace-confirm"
              />
              <span>
                Replace “{existing.name}”, last seen{" "}
                <span title={fullDate(existing.lastSeenAt)}>
                  {fromNow(existing.lastSeenAt, now)}
                </span>
                : its executor loses its credential, and this computer becomes that device (its
                tasks and settings).
              </span>
            </label>
          )}
        </div>
      )}
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
