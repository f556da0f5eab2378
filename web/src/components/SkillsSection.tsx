import type { ChangeEvent } from "react";
import { ApiError, type Skill, SkillBody, SkillsBody, Ok } from "@wegent/protocol";
import { api, ApiFailure } from "../api";
import { newTraceparent } from "../traceparent";
import { useManagedList } from "../lib/managed-list";
import { ListSection } from "./ListSection";

/** Uploads the zip as the raw body (the API takes no multipart). */
async function uploadSkill(file: File): Promise<Skill> {
  let response: Response;
  try {
    response = await fetch("/api/skills", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/zip", traceparent: newTraceparent() },
      body: file,
    });
  } catch {
    throw new ApiFailure(0, "network_error", "Could not reach the server. Check your connection.");
  }
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const parsed = ApiError.safeParse(json);
    throw parsed.success
      ? new ApiFailure(response.status, parsed.data.error.code, parsed.data.error.message)
      : new ApiFailure(response.status, "http_error", `The server answered ${response.status}.`);
  }
  return SkillBody.parse(json).skill;
}

const fetchSkills = async () => (await api("GET", "/api/skills", SkillsBody)).skills;

export function SkillsSection() {
  const { items: skills, error, busy, run } = useManagedList(fetchSkills);

  function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (file) void run(() => uploadSkill(file));
  }

  return (
    <ListSection
      title="Skills"
      testId="skills"
      intro={
        <>
          A zip with a <code>SKILL.md</code> (front matter with <code>name</code> and{" "}
          <code>description</code>) at its root or in its one folder; up to 1 MiB, regular files
          only. Uploading a skill with the same name replaces it. The agent sees it as{" "}
          <code>wegent:&lt;name&gt;</code>.
        </>
      }
      error={error}
      errorTestId="skill-error"
      items={skills}
      loading={<p className="muted">Loading…</p>}
      empty={<p className="muted">No skills yet.</p>}
      keyOf={(skill) => skill.id}
      itemTestId={(skill) => `skill-${skill.name}`}
      renderItem={(skill) => (
        <>
          <div className="token-head">
            <strong>{skill.name}</strong>
            <span className="badge">{skill.enabled ? "on" : "off"}</span>
          </div>
          <p className="muted">{skill.description}</p>
          <div className="row">
            <label>
              <input
                type="checkbox"
                checked={skill.enabled}
                disabled={busy}
                onChange={(e) =>
                  void run(() =>
                    api("PATCH", `/api/skills/${skill.id}`, SkillBody, {
                      enabled: e.target.checked,
                    }),
                  )
                }
                data-testid="skill-enabled"
              />{" "}
              Enabled
            </label>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => void run(() => api("DELETE", `/api/skills/${skill.id}`, Ok))}
              data-testid="skill-delete"
            >
              Delete
            </button>
          </div>
        </>
      )}
    >
      {({ id }) => (
        <>
          <label htmlFor={`${id}-file`}>Upload a skill (.zip)</label>
          <input
            id={`${id}-file`}
            type="file"
            accept=".zip,application/zip"
            onChange={onFile}
            disabled={busy}
            data-testid="skill-upload"
          />
        </>
      )}
    </ListSection>
  );
}
