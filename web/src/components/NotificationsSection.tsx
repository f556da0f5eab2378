import { useCallback, useEffect, useState } from "react";
import {
  PushPreferencesBody,
  type PushPreferences,
  PushSubscriptionsBody,
  type PushSubscriptionView,
} from "@wegent/protocol";
import { z } from "zod";
import { api, errorText } from "../api";
import { fullDate } from "../lib/time";
import { currentEndpoint, enablePush, iosNeedsHomeScreen, pushSupported } from "../lib/push";

const THIS_BROWSER_KEY = "wegent.push.subscriptionId";

const PREFERENCE_TEXT: Record<keyof PushPreferences, string> = {
  needsInput: "The agent needs an answer (a permission, a question, a plan)",
  finished: "A reply finished",
  failed: "A reply failed",
  deviceOffline: "A device with running tasks went offline",
};

function lastResult(s: PushSubscriptionView): string {
  if (s.lastStatus === null || !s.lastSentAt) return "Nothing sent yet";
  const when = fullDate(s.lastSentAt);
  if (s.lastStatus >= 200 && s.lastStatus < 300) return `Delivered ${when}`;
  if (s.lastStatus === 429) return `The push service asked us to wait (${when})`;
  if (s.lastStatus === 0) return `The push service was unreachable (${when})`;
  return `Refused with ${s.lastStatus} (${when})`;
}

/** Settings → Notifications: Web Push on this browser and the others, and what to push. */
export function NotificationsSection() {
  const [subs, setSubs] = useState<PushSubscriptionView[]>([]);
  const [prefs, setPrefs] = useState<PushPreferences | null>(null);
  const [thisId, setThisId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const body = await api("GET", "/api/push/subscriptions", PushSubscriptionsBody);
      setSubs(body.subscriptions);
      setPrefs(body.preferences);
      // The server never shows endpoints: this browser keeps the id it registered.
      const endpoint = await currentEndpoint().catch(() => null);
      const kept = localStorage.getItem(THIS_BROWSER_KEY);
      setThisId(endpoint && body.subscriptions.some((s) => s.id === kept) ? kept : null);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  async function enable() {
    setBusy(true);
    setError(null);
    try {
      const id = await enablePush();
      localStorage.setItem(THIS_BROWSER_KEY, id);
      setThisId(id);
      await load();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  async function remove(id: string) {
    setError(null);
    try {
      await api("DELETE", `/api/push/subscriptions/${id}`, z.unknown());
      if (id === thisId) setThisId(null);
      await load();
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  async function toggle(key: keyof PushPreferences, value: boolean) {
    if (!prefs) return;
    const next = { ...prefs, [key]: value };
    setPrefs(next);
    try {
      setPrefs((await api("PUT", "/api/push/preferences", PushPreferencesBody, next)).preferences);
    } catch (failure) {
      setError(errorText(failure));
      setPrefs(prefs);
    }
  }

  return (
    <section aria-labelledby="notifications-title" data-testid="notifications">
      <h2 id="notifications-title">Notifications</h2>
      <p className="muted">
        Get told on this browser or your phone, with the tab closed, when an agent needs an answer
        or is done. Pushes carry the task's title only, never your prompts or the replies.
      </p>
      {iosNeedsHomeScreen() && (
        <p className="notice" data-testid="ios-hint">
          On iPhone and iPad, notifications need the app on the Home Screen: tap Share, then “Add to
          Home Screen”, open Wegent Edge from there and enable notifications again.
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {pushSupported() ? (
        <button
          type="button"
          onClick={() => void enable()}
          disabled={busy}
          data-testid="push-enable"
        >
          {thisId ? "Notifications are on for this browser (renew)" : "Enable on this browser"}
        </button>
      ) : (
        <p className="muted">This browser cannot receive push notifications.</p>
      )}
      {subs.length > 0 && (
        <ul className="push-subscriptions" data-testid="push-subscriptions">
          {subs.map((s) => (
            <li key={s.id} data-testid="push-subscription">
              <strong>{s.label ?? s.service}</strong>
              {s.id === thisId && <span className="muted"> (this browser)</span>}{" "}
              <span className="muted">{lastResult(s)}</span>{" "}
              <button type="button" onClick={() => void remove(s.id)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {prefs && (
        <fieldset>
          <legend>Send a notification when</legend>
          {(Object.keys(PREFERENCE_TEXT) as (keyof PushPreferences)[]).map((key) => (
            <label key={key}>
              <input
                type="checkbox"
                checked={prefs[key]}
                onChange={(e) => void toggle(key, e.target.checked)}
              />{" "}
              {PREFERENCE_TEXT[key]}
            </label>
          ))}
        </fieldset>
      )}
    </section>
  );
}
