import { useEffect, useState, type FormEvent } from "react";
import {
  MAX_PRESETS,
  Ok,
  PermissionMode,
  PresetBody,
  PresetsBody,
  SettingsBody,
  type Preset,
} from "@wegent/protocol";
import { api, errorText } from "../api";
import { MODE_LABEL } from "./Composer";

/** The user's defaults: how agents may use tools, and saved prompts (presets). */
export function SettingsPage() {
  return (
    <main className="page settings" aria-label="Settings">
      <h1>Settings</h1>
      <ModeSetting />
      <Presets />
    </main>
  );
}

function ModeSetting() {
  const [mode, setMode] = useState<PermissionMode | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    api("GET", "/api/settings", SettingsBody)
      .then((body) => setMode(body.settings.defaultPermissionMode))
      .catch((failure: unknown) => setNote(errorText(failure)));
  }, []);
  async function change(next: PermissionMode) {
    setNote(null);
    try {
      const body = await api("PUT", "/api/settings", SettingsBody, { defaultPermissionMode: next });
      setMode(body.settings.defaultPermissionMode);
      setNote("Saved.");
    } catch (failure) {
      setNote(errorText(failure));
    }
  }
  return (
    <section aria-labelledby="mode-heading">
      <h2 id="mode-heading">Tool permissions</h2>
      <p className="muted">
        What the agent may do without asking you. With “Ask before tools”, a command or an edit
        waits in the chat for your Allow or Deny (10 minutes, then it is denied).
      </p>
      {mode && (
        <select
          data-testid="default-permission-mode"
          value={mode}
          onChange={(e) => void change(e.target.value as PermissionMode)}
        >
          {PermissionMode.options.map((option) => (
            <option key={option} value={option}>
              {MODE_LABEL[option]}
            </option>
          ))}
        </select>
      )}
      {note && <p role="status">{note}</p>}
    </section>
  );
}

function Presets() {
  const [presets, setPresets] = useState<Preset[]>([]);
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api("GET", "/api/presets", PresetsBody)
      .then((body) => setPresets(body.presets))
      .catch((failure: unknown) => setError(errorText(failure)));
  }, []);
  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const body = await api("POST", "/api/presets", PresetBody, { title, text });
      setPresets((held) => [...held, body.preset]);
      setTitle("");
      setText("");
    } catch (failure) {
      setError(errorText(failure));
    }
  }
  async function remove(id: string) {
    setError(null);
    try {
      await api("DELETE", `/api/presets/${id}`, Ok);
      setPresets((held) => held.filter((p) => p.id !== id));
    } catch (failure) {
      setError(errorText(failure));
    }
  }
  return (
    <section aria-labelledby="presets-heading">
      <h2 id="presets-heading">Presets</h2>
      <p className="muted">
        Prompts you use often, shown as cards on a new chat (at most {MAX_PRESETS}).
      </p>
      <ul className="preset-list">
        {presets.map((preset) => (
          <li key={preset.id} data-testid="preset-row">
            <strong>{preset.title}</strong>{" "}
            <span className="muted">{preset.text.slice(0, 80)}</span>{" "}
            <button type="button" className="quiet" onClick={() => void remove(preset.id)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} className="preset-form">
        <label>
          Title
          <input
            data-testid="preset-title"
            value={title}
            maxLength={100}
            onChange={(e) => setTitle(e.target.value)}
          />
        </label>
        <label>
          Prompt
          <textarea
            data-testid="preset-text"
            rows={3}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <button
          type="submit"
          className="primary"
          disabled={!title.trim() || !text.trim() || presets.length >= MAX_PRESETS}
        >
          Save preset
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
