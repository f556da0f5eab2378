import { useCallback, useEffect, useState } from "react";
import { type SkillEntry, SkillsLink, SkillsList, SKILL_FOLDERS } from "@wegent/protocol";
import { errorText } from "../api";
import { runBuiltin } from "../commands/run";
import { href } from "../lib/route";
import { useStore } from "../state/store";

/**
 * The shared skill directory of one device: skills in ~/.agents/skills, ~/.claude/skills and
 * ~/.codex/skills, and a button to unify each under ~/.agents/skills with links.
 */
export function SkillsPage(props: { deviceId: string }) {
  const { state } = useStore();
  const device = state.devices.find((d) => d.id === props.deviceId);
  const [skills, setSkills] = useState<SkillEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setSkills((await runBuiltin(props.deviceId, "skills.list", SkillsList)).skills);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, [props.deviceId]);

  useEffect(() => {
    void load();
  }, [load]);

  async function unify(name: string) {
    setBusy(name);
    setError(null);
    setNotice(null);
    try {
      const result = await runBuiltin(props.deviceId, "skills.link", SkillsLink, { name });
      const conflicts = result.actions.filter((a) => a.action === "conflict");
      setNotice(
        conflicts.length === 0
          ? `${name} is now shared from ~/.agents/skills.`
          : `${name}: left alone in ${conflicts.map((c) => `${c.folder} (${c.detail ?? "conflict"})`).join(", ")}. Nothing was deleted.`,
      );
      await load();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(null);
    }
  }

  return (
    <main className="page" aria-labelledby="skills-title">
      <p>
        <a href={href.devices}>← Devices</a>
      </p>
      <h1 id="skills-title">Skills on {device?.name ?? "this device"}</h1>
      <p className="muted">
        Skills found in {SKILL_FOLDERS.join(", ")}. Unify keeps one copy in ~/.agents/skills and
        links the other folders to it; it never deletes a skill.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p className="muted" role="status">
          {notice}
        </p>
      )}
      {skills === null && !error && <p className="muted">Asking the device…</p>}
      {skills?.length === 0 && <p className="muted">No skills in those folders.</p>}
      {skills && skills.length > 0 && (
        <div className="table-wrap">
          <table className="skills" data-testid="skills">
            <thead>
              <tr>
                <th>Skill</th>
                {SKILL_FOLDERS.map((folder) => (
                  <th key={folder}>{folder.replace("~/.", "").replace("/skills", "")}</th>
                ))}
                <th />
              </tr>
            </thead>
            <tbody>
              {skills.map((skill) => (
                <tr key={skill.name} data-testid="skill" data-name={skill.name}>
                  <td>
                    <strong>{skill.name}</strong>
                    {skill.description && <div className="muted">{skill.description}</div>}
                  </td>
                  {SKILL_FOLDERS.map((folder) => {
                    const here = skill.locations.find((l) => l.folder === folder);
                    return <td key={folder}>{here ? (here.link ? "link" : "✓") : "—"}</td>;
                  })}
                  <td>
                    {skill.unified ? (
                      <span className="muted">shared</span>
                    ) : (
                      <button
                        type="button"
                        disabled={busy !== null}
                        onClick={() => void unify(skill.name)}
                      >
                        {busy === skill.name ? "Unifying…" : "Unify"}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
