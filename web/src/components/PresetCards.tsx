import { useEffect, useState } from "react";
import { PresetsBody, type Preset } from "@wegent/protocol";
import { api } from "../api";
import { href } from "../lib/route";

/** Saved prompts on an empty chat: one click fills the composer. */
export function PresetCards(props: { onPick: (text: string) => void }) {
  const [presets, setPresets] = useState<Preset[] | null>(null);
  useEffect(() => {
    let live = true;
    api("GET", "/api/presets", PresetsBody)
      .then((body) => live && setPresets(body.presets))
      .catch(() => live && setPresets([]));
    return () => {
      live = false;
    };
  }, []);
  if (!presets) return null;
  if (presets.length === 0) {
    return (
      <p className="muted">
        Tip: save prompts you use often as <a href={href.settings}>presets</a>.
      </p>
    );
  }
  return (
    <ul className="preset-cards" aria-label="Presets">
      {presets.map((preset) => (
        <li key={preset.id}>
          <button
            type="button"
            className="preset-card"
            data-testid="preset-card"
            onClick={() => props.onPick(preset.text)}
          >
            <strong>{preset.title}</strong>
            <span className="muted">{preset.text.slice(0, 120)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
