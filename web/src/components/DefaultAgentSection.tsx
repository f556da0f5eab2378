import { useEffect, useId, useState } from "react";
import { RuntimeId, type Settings, SettingsBody } from "@wegent/protocol";
import { api, errorText } from "../api";
import { RUNTIME_LABEL } from "./Composer";

/** The agent a new task runs on when the composer names none (`defaultRuntime`). */
export function DefaultAgentSection() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const id = useId();

  useEffect(() => {
    api("GET", "/api/settings", SettingsBody).then(
      (body) => setSettings(body.settings),
      (failure: unknown) => setError(errorText(failure)),
    );
  }, []);

  async function choose(defaultRuntime: RuntimeId) {
    if (!settings) return;
    setError(null);
    setSaved(false);
    try {
      const body = await api("PUT", "/api/settings", SettingsBody, {
        defaultPermissionMode: settings.defaultPermissionMode,
        defaultRuntime,
      });
      setSettings(body.settings);
      setSaved(true);
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  return (
    <section className="card stack" aria-labelledby={`${id}-title`} data-testid="default-agent">
      <h2 id={`${id}-title`}>Default agent</h2>
      <p className="muted">
        The agent a new task runs on when you do not pick one. A task keeps its agent; a device
        without it refuses the task.
      </p>
      {settings && (
        <label>
          <span className="visually-hidden">Default agent</span>
          <select
            data-testid="default-runtime"
            value={settings.defaultRuntime}
            onChange={(e) => void choose(RuntimeId.parse(e.target.value))}
          >
            {RuntimeId.options.map((option) => (
              <option key={option} value={option}>
                {RUNTIME_LABEL[option]}
              </option>
            ))}
          </select>
        </label>
      )}
      {saved && <p className="muted">Saved.</p>}
      {error && <p className="error">{error}</p>}
    </section>
  );
}
