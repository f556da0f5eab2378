// The directories the owner lets tasks work in: `--project DIR` (repeatable) and every git
// repository up to two levels below `--projects-root DIR`. Only ids travel to the platform and
// back; paths stay here, and a project whose path now leads elsewhere (a symlink swapped in,
// an entry below the root pointing outside it) is refused.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, join, sep } from "node:path";
import { MAX_PROJECTS, type Project } from "@wegent/protocol";
import { gitOut } from "../system/git";
import type { Logger } from "../log";

const SKIPPED_DIRS = new Set(["node_modules"]);

export interface ProjectSettings {
  /** `--project` directories, as given. */
  projects: readonly string[];
  /** `--projects-root`, as given, or null. */
  projectsRoot: string | null;
}

/** A project as this executor knows it: what it advertises, plus where it came from. */
interface Known extends Project {
  /** The root it was found under (its real path), or null for an explicit `--project`. */
  root: string | null;
}

export type ProjectLookup =
  { ok: true; project: Project } | { ok: false; code: "project_unavailable"; message: string };

export function projectId(deviceId: string, path: string): string {
  const hash = createHash("sha256").update(`wegent-project:${deviceId}\0${path}`).digest("hex");
  return `p_${hash.slice(0, 20)}`;
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export class ProjectRegistry {
  private known = new Map<string, Known>();

  constructor(
    private readonly deviceId: string,
    private readonly settings: ProjectSettings,
    private readonly log?: Logger,
  ) {}

  get enabled(): boolean {
    return this.settings.projects.length > 0 || this.settings.projectsRoot !== null;
  }

  list(): Project[] {
    return [...this.known.values()].map(({ root: _root, ...project }) => project);
  }

  /** Finds the projects (again) and reads their git state. */
  async scan(): Promise<Project[]> {
    const found = new Map<string, Known>();
    const add = async (path: string, root: string | null) => {
      if (found.size >= MAX_PROJECTS) return;
      const id = projectId(this.deviceId, path);
      if (found.has(id)) return;
      found.set(id, { ...(await this.describe(path)), id, root });
    };
    for (const given of this.settings.projects) {
      const path = await realDirectory(given);
      if (path === null) this.log?.warn(`project ${given} is not a directory; skipped`);
      else await add(path, null);
    }
    if (this.settings.projectsRoot !== null) {
      const root = await realDirectory(this.settings.projectsRoot);
      if (root === null) {
        this.log?.warn(`projects root ${this.settings.projectsRoot} is not a directory`);
      } else {
        for (const path of await this.reposBelow(root, root, 2)) await add(path, root);
      }
    }
    if (found.size >= MAX_PROJECTS)
      this.log?.warn(`only the first ${MAX_PROJECTS} projects are offered`);
    this.known = found;
    return this.list();
  }

  /**
   * Finds the projects again (a repository cloned under the root since, one removed) and
   * re-reads branch and dirty; true when anything the platform shows changed.
   */
  async refresh(): Promise<boolean> {
    const before = JSON.stringify(this.list());
    await this.scan();
    return JSON.stringify(this.list()) !== before;
  }

  /**
   * The project behind an id, if this executor advertised it and it still is what it was: the
   * same real path (not a symlink swapped in since) and, for one found under the root, inside it.
   */
  async lookup(id: string): Promise<ProjectLookup> {
    const project = this.known.get(id);
    if (!project) {
      return {
        ok: false,
        code: "project_unavailable",
        message: `This device does not offer project ${id}. Pick one of its projects in the browser.`,
      };
    }
    const real = await realDirectory(project.path);
    const entry = await lstat(project.path).catch(() => null);
    if (
      real !== project.path ||
      entry === null ||
      entry.isSymbolicLink() ||
      (project.root !== null && !inside(project.root, real))
    ) {
      this.log?.warn("project refused: its path changed or leads elsewhere", { projectId: id });
      return {
        ok: false,
        code: "project_unavailable",
        message: `Project ${project.name} is no longer the directory this device offered (it is missing, or a symlink now leads elsewhere). Restart wegent-executor to offer it again.`,
      };
    }
    const { root: _root, ...rest } = project;
    return { ok: true, project: rest };
  }

  private async describe(path: string): Promise<Omit<Project, "id">> {
    const name = basename(path) || path;
    const top = await gitOut(["rev-parse", "--show-toplevel"], path);
    const topReal = top.ok ? await realDirectory(top.out.trim()) : null;
    if (topReal !== path) return { name, path, git: false, branch: null, dirty: false };
    const [branch, status] = await Promise.all([
      gitOut(["symbolic-ref", "--short", "-q", "HEAD"], path),
      gitOut(["status", "--porcelain", "--untracked-files=normal"], path),
    ]);
    return {
      name,
      path,
      git: true,
      branch: branch.ok && branch.out.trim() ? branch.out.trim() : null,
      dirty: status.ok && status.out.trim() !== "",
    };
  }

  /** Git repositories up to `depth` levels below `dir`; entries leading outside `root` refused. */
  private async reposBelow(root: string, dir: string, depth: number): Promise<string[]> {
    if (depth === 0) return [];
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const repos: string[] = [];
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name)) continue;
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      const real = await realDirectory(join(dir, entry.name));
      if (real === null) continue;
      if (!inside(root, real) || real === root) {
        this.log?.warn(`${join(dir, entry.name)} leads outside ${root}; not offered as a project`);
        continue;
      }
      if (existsSync(join(real, ".git"))) repos.push(real);
      else repos.push(...(await this.reposBelow(root, real, depth - 1)));
    }
    return repos;
  }
}

async function realDirectory(path: string): Promise<string | null> {
  try {
    const real = await realpath(path);
    return (await stat(real)).isDirectory() ? real : null;
  } catch {
    return null;
  }
}
