import { useEffect, useId, useState, type FormEvent } from "react";
import {
  MAX_STALL_SECONDS,
  MIN_STALL_SECONDS,
  PermissionMode,
  type RuntimeSettings,
  RuntimeSettingsBody,
} from "@wegent/protocol";
import { api, errorText } from "../api";
import { useAction } from "../lib/action";
import { MODE_LABEL } from "./Composer";

export function RuntimeSettingsSection() {
  const [settings, setSettings] = useState<RuntimeSettings | null>(null);
  const { busy, error, setError, run } = useAction();
  const [saved, setSaved] = useState(false);
  const [agentEnv, setAgentEnv] = useState("");
  const id = useId();

  useEffect(() => {
    api("GET", "/api/settings/runtime", RuntimeSettingsBody).then(
      (body) => {
        setSettings(body.runtime);
        setAgentEnv(body.runtime.agentEnv.join(" "));
      },
      (failure: unknown) => setError(errorText(failure)),
    );
  }, []);

  if (!settings) {
    return (
      <section className="card">
        {error ? <p className="error">{error}</p> : <p className="muted">Loading…</p>}
      </section>
    );
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!settings) return;
    setSaved(false);
    await run(async () => {
      const body = await api("PUT", "/api/settings/runtime", RuntimeSettingsBody, {
        ...settings,
        agentEnv: agentEnv.split(/[\s,]+/).filter((w) => w !== ""),
      });
      setSettings(body.runtime);
      setSaved(true);
    });
  }

  const update = (patch: Partial<RuntimeSettings>) => {
    setSaved(false);
    setSettings({ ...settings, ...patch });
  };

  return (
    <form
      className="card stack"
      onSubmit={submit}
      aria-labelledby={`${id}-title`}
      data-testid="runtime-settings"
    >
      <h2 id={`${id}-title`}>Runtime</h2>
      <p className="muted">Applied to every new message, follow-ups included.</p>
      <label htmlFor={`${id}-model`}>Default model (empty: the device's default)</label>
      <input
        id={`${id}-model`}
        value={settings.model ?? ""}
        maxLength={100}
        onChange={(e) => update({ model: e.target.value.trim() === "" ? null : e.target.value })}
        data-testid="runtime-model"
      />
      <label htmlFor={`${id}-mode`}>Default permission mode</label>
      <p className="muted">
        What the agent may do without asking you; a message can pick its own. With “Ask before
        tools”, a command or an edit waits in the chat for your Allow or Deny (10 minutes, then it
        is denied). A device started with a stricter mode keeps it.
      </p>
      <select
        id={`${id}-mode`}
        value={settings.permissionMode ?? ""}
        onChange={(e) =>
          update({
            permissionMode: e.target.value === "" ? null : PermissionMode.parse(e.target.value),
          })
        }
        data-testid="runtime-permission-mode"
      >
        <option value="">The device's own setting</option>
        {PermissionMode.options.map((mode) => (
          <option key={mode} value={mode}>
            {MODE_LABEL[mode]}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-turns`}>Max turns (empty: no limit)</label>
      <input
        id={`${id}-turns`}
        type="number"
        min={1}
        max={1000}
        value={settings.maxTurns ?? ""}
        onChange={(e) =>
          update({ maxTurns: e.target.value === "" ? null : Number(e.target.value) })
        }
        data-testid="runtime-max-turns"
      />
      <label htmlFor={`${id}-stall`}>Stop a run silent for (seconds)</label>
      <p className="muted">
        A run that shows no output of any kind for this long, while it is not waiting for your
        answer, is stopped (30 to 86,400; default 600).
      </p>
      <input
        id={`${id}-stall`}
        type="number"
        min={MIN_STALL_SECONDS}
        max={MAX_STALL_SECONDS}
        value={settings.stallSeconds}
        onChange={(e) => update({ stallSeconds: Number(e.target.value) })}
        data-testid="runtime-stall-seconds"
      />
      <label htmlFor={`${id}-max-run`}>Longest run (minutes; empty: no limit)</label>
      <input
        id={`${id}-max-run`}
        type="number"
        min={1}
        max={10_080}
        value={settings.maxRunMinutes ?? ""}
        onChange={(e) =>
          update({ maxRunMinutes: e.target.value === "" ? null : Number(e.target.value) })
        }
        data-testid="runtime-max-run-minutes"
      />
      <label htmlFor={`${id}-warm`}>
        Keep Claude Code running between messages, seconds (0: close after each reply)
      </label>
      <input
        id={`${id}-warm`}
        type="number"
        min={0}
        max={3600}
        value={settings.keepWarmSeconds ?? 300}
        onChange={(e) =>
          update({ keepWarmSeconds: e.target.value === "" ? undefined : Number(e.target.value) })
        }
        data-testid="runtime-keep-warm"
      />
      <label htmlFor={`${id}-prompt`}>Appended to Claude Code&apos;s system prompt</label>
      <p className="muted">
        The agent runs with Claude Code&apos;s own system prompt, as in your terminal; this text
        follows it. A task keeps the prompt it started with: a change applies to new tasks.
      </p>
      <textarea
        id={`${id}-prompt`}
        rows={4}
        value={settings.appendSystemPrompt}
        onChange={(e) => update({ appendSystemPrompt: e.target.value })}
        data-testid="runtime-append-prompt"
      />
      <label htmlFor={`${id}-env`}>Extra environment variables the agent may see (names)</label>
      <input
        id={`${id}-env`}
        value={agentEnv}
        onChange={(e) => {
          setSaved(false);
          setAgentEnv(e.target.value);
        }}
        placeholder="e.g. GITHUB_TOKEN NPM_TOKEN"
        data-testid="runtime-agent-env"
      />
      {error && (
        <p className="error" role="alert" data-testid="runtime-error">
          {error}
        </p>
      )}
      {saved && (
        <p className="muted" role="status">
          Saved.
        </p>
      )}
      <button type="submit" className="primary" disabled={busy} data-testid="runtime-save">
        {busy ? "Saving…" : "Save"}
      </button>
    </form>
  );
}
