import { useEffect, useState, type FormEvent } from "react";
import { MAX_PRESETS, Ok, PresetBody, PresetsBody, type Preset } from "@wegent/protocol";
import { api, errorText } from "../api";

/** Saved prompts, shown as cards on a new chat. */
export function PresetsSection() {
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
