// The shared skill directory: skills in ~/.agents/skills, ~/.claude/skills and ~/.codex/skills,
// unified under ~/.agents/skills with links. Never deletes a skill; touches nothing outside
// those three folders.
import {
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  stat,
  symlink,
} from "node:fs/promises";
import { join, resolve } from "node:path";
import type { SkillEntry, SkillsLink, SkillsList } from "@wegent/protocol";
import { SKILL_FOLDERS, SkillName } from "@wegent/protocol";
import { CommandError } from "../system/git";

type Folder = (typeof SKILL_FOLDERS)[number];
const CANONICAL: Folder = "~/.agents/skills";
const MAX_SKILLS = 500;

function folderPath(home: string, folder: Folder): string {
  return join(home, folder.slice(2));
}

/** `description:` from SKILL.md's front matter, or its first non-heading line. */
export async function readDescription(dir: string): Promise<string | null> {
  let text: string;
  try {
    const handle = await readFile(join(dir, "SKILL.md"));
    text = handle.subarray(0, 16 * 1024).toString("utf8");
  } catch {
    return null;
  }
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  const line = front?.[1]?.split(/\r?\n/).find((l) => /^description\s*:/.test(l));
  if (line) {
    const value = line
      .replace(/^description\s*:\s*/, "")
      .trim()
      .replace(/^(["'])(.*)\1$/, "$2");
    return value.slice(0, 500) || null;
  }
  const body = front ? text.slice(front[0].length) : text;
  const first = body.split(/\r?\n/).find((l) => l.trim() !== "" && !l.startsWith("#"));
  return first?.trim().slice(0, 500) ?? null;
}

interface Found {
  folder: Folder;
  path: string;
  link: boolean;
  /** A link whose target is ~/.agents/skills/<name>. */
  linksToCanonical: boolean;
}

async function scan(home: string): Promise<Map<string, Found[]>> {
  const canonicalDir = folderPath(home, CANONICAL);
  const byName = new Map<string, Found[]>();
  for (const folder of SKILL_FOLDERS) {
    const dir = folderPath(home, folder);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (!SkillName.safeParse(name).success) continue;
      const path = join(dir, name);
      const info = await lstat(path).catch(() => null);
      if (!info) continue;
      const link = info.isSymbolicLink();
      const target = await stat(path).catch(() => null);
      if (!target?.isDirectory()) continue;
      let linksToCanonical = false;
      if (link) {
        const to = resolve(dir, await readlink(path));
        linksToCanonical = to === join(canonicalDir, name);
      }
      const list = byName.get(name) ?? [];
      list.push({ folder, path, link, linksToCanonical });
      byName.set(name, list);
      if (byName.size >= MAX_SKILLS) return byName;
    }
  }
  return byName;
}

export async function listSkills(home: string): Promise<SkillsList> {
  const skills: SkillEntry[] = [];
  for (const [name, found] of await scan(home)) {
    const real = found.find((f) => !f.link) ?? found[0];
    const description = real ? await readDescription(real.path) : null;
    const canonical = found.find((f) => f.folder === CANONICAL && !f.link);
    const unified =
      canonical !== undefined &&
      SKILL_FOLDERS.every((folder) =>
        found.some((f) => f.folder === folder && (f.folder === CANONICAL || f.linksToCanonical)),
      );
    skills.push({
      name,
      description,
      locations: found.map((f) => ({ folder: f.folder, link: f.link })),
      unified,
    });
  }
  skills.sort((a, b) => a.name.localeCompare(b.name));
  return { skills };
}

/**
 * Makes ~/.agents/skills/<name> the one real copy and links the other folders to it. A skill
 * only elsewhere is moved there (and a link left in its place); a different real copy in
 * another folder is left alone and reported as a conflict.
 */
export async function linkSkill(home: string, name: string): Promise<SkillsLink> {
  if (!SkillName.safeParse(name).success) {
    throw new CommandError("invalid_args", "name: not a skill name");
  }
  const found = (await scan(home)).get(name) ?? [];
  if (found.length === 0) throw new CommandError("invalid_args", `name: no skill called ${name}`);
  const canonicalDir = folderPath(home, CANONICAL);
  const canonical = join(canonicalDir, name);
  const actions: SkillsLink["actions"] = [];
  const source = found.find((f) => f.folder === CANONICAL && !f.link);
  if (!source) {
    const existing = await lstat(canonical).catch(() => null);
    if (existing) {
      // A link or a file of that name we do not understand: leave it, change nothing.
      return {
        name,
        actions: [{ folder: CANONICAL, action: "conflict", detail: "exists but is not a folder" }],
      };
    }
    const from = found.find((f) => !f.link);
    if (!from) throw new CommandError("invalid_args", `name: ${name} is only links, no real copy`);
    await mkdir(canonicalDir, { recursive: true });
    await assertInsideFolders(home, from.path);
    await rename(from.path, canonical);
    await symlink(canonical, from.path, "dir");
    actions.push({ folder: CANONICAL, action: "moved", detail: `from ${from.folder}` });
    actions.push({ folder: from.folder, action: "linked" });
  } else {
    actions.push({ folder: CANONICAL, action: "kept" });
  }
  for (const folder of SKILL_FOLDERS) {
    if (folder === CANONICAL || actions.some((a) => a.folder === folder)) continue;
    const here = found.find((f) => f.folder === folder);
    if (!here) {
      const dir = folderPath(home, folder);
      await mkdir(dir, { recursive: true });
      await symlink(canonical, join(dir, name), "dir");
      actions.push({ folder, action: "linked" });
    } else if (here.linksToCanonical) {
      actions.push({ folder, action: "kept" });
    } else {
      actions.push({
        folder,
        action: "conflict",
        detail: here.link ? "a link to somewhere else" : "a separate copy; merge it by hand",
      });
    }
  }
  return { name, actions };
}

/** The real path of a skill about to move must be in one of the three folders. */
async function assertInsideFolders(home: string, path: string): Promise<void> {
  const real = await realpath(path);
  for (const folder of SKILL_FOLDERS) {
    const dir = await realpath(folderPath(home, folder)).catch(() => null);
    if (dir && real.startsWith(`${dir}/`)) return;
  }
  throw new CommandError("path_outside", `${path} is outside the skill folders`);
}
