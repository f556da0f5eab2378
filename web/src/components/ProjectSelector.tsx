import { useId } from "react";
import type { Device } from "@wegent/protocol";

export const projectLabel = (p: Device["projects"][number]): string =>
  `${p.name}${p.git ? ` · ${p.branch ?? "detached"}${p.dirty ? " (changes)" : ""}` : " · not git"}`;

/**
 * Which of the device's projects a new task works in, or a scratch workspace. In a git project
 * the task gets its own branch and worktree; the checkout itself is left alone.
 */
export function ProjectSelector(props: {
  device: Device;
  value: string | null;
  onChange: (projectId: string | null) => void;
  /** A terminal session is continued: it runs in the folder itself, not a worktree. */
  continuing?: boolean;
}) {
  const id = useId();
  const { device, value } = props;
  const chosen = device.projects.find((p) => p.id === value);
  return (
    <div className="project-selector">
      <label htmlFor={id}>Project</label>
      <select
        id={id}
        data-testid="project-selector"
        value={value ?? ""}
        onChange={(event) => props.onChange(event.target.value || null)}
      >
        <option value="">Scratch workspace</option>
        {device.projects.map((project) => (
          <option key={project.id} value={project.id} title={project.path}>
            {projectLabel(project)}
          </option>
        ))}
      </select>
      {chosen && (
        <p className="hint" data-testid="project-note">
          {props.continuing
            ? continuingNote(chosen)
            : chosen.git
              ? "Works on its own branch in a separate worktree; your checkout is not touched."
              : "Not a git repository: works in the folder itself, one task at a time."}
        </p>
      )}
    </div>
  );
}

/** Where a continued terminal session runs, truthfully: the project folder, on its branch. */
export function continuingNote(project: Device["projects"][number]): string {
  const where = `Runs in the project folder ${project.path}`;
  if (!project.git) return `${where}: its changes are made there, in your files.`;
  const branch = project.branch
    ? `on its current branch ${project.branch}`
    : "on its detached HEAD";
  return `${where}, ${branch}: its changes are made in your checkout, as in the terminal.`;
}
