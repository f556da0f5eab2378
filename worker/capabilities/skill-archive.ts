import {
  MAX_SKILL_FILES,
  MAX_SKILL_UNPACKED_BYTES,
  ManagedSkillName,
  type SkillBundle,
} from "@wegent/protocol";
import { type ZipEntry, ZipError, readZip } from "./zip";

export interface ParsedSkill {
  name: string;
  description: string;
  files: ZipEntry[];
}

const MAX_DESCRIPTION = 1024;

/** `key: value` lines of a SKILL.md front matter (`---` … `---`), quotes removed. */
function frontMatter(text: string): Map<string, string> | null {
  const match = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---\s*(?:\r?\n|$)/.exec(text);
  if (!match?.[1]) return null;
  const fields = new Map<string, string>();
  for (const line of match[1].split(/\r?\n/)) {
    const kv = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
    if (!kv?.[1]) continue;
    let value = (kv[2] ?? "").trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    fields.set(kv[1], value);
  }
  return fields;
}

/**
 * A skill zip holds `SKILL.md` at its root, or one folder that does. Returns the skill's name,
 * description and files (paths relative to the skill's folder), or throws a ZipError.
 */
export async function parseSkillZip(bytes: Uint8Array): Promise<ParsedSkill> {
  const entries = await readZip(bytes, {
    maxFiles: MAX_SKILL_FILES,
    maxUnpackedBytes: MAX_SKILL_UNPACKED_BYTES,
  });
  let files = entries;
  if (!files.some((f) => f.path === "SKILL.md")) {
    const tops = new Set(files.map((f) => f.path.split("/")[0]));
    const [top] = tops;
    if (tops.size === 1 && top && files.some((f) => f.path === `${top}/SKILL.md`)) {
      files = files.map((f) => ({ ...f, path: f.path.slice(top.length + 1) }));
    } else {
      throw new ZipError(
        "skill_md_missing",
        "the zip has no SKILL.md at its root (or in its one folder)",
      );
    }
  }
  const skillMd = files.find((f) => f.path === "SKILL.md");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(skillMd?.data);
  } catch {
    throw new ZipError("skill_md_invalid", "SKILL.md is not UTF-8 text");
  }
  const fields = frontMatter(text);
  if (!fields) {
    throw new ZipError(
      "skill_md_invalid",
      "SKILL.md must start with front matter (--- name: … description: … ---)",
    );
  }
  const name = ManagedSkillName.safeParse(fields.get("name") ?? "");
  if (!name.success) {
    throw new ZipError(
      "skill_md_invalid",
      "SKILL.md name: use lowercase letters, digits and '-' (at most 64)",
    );
  }
  const description = fields.get("description") ?? "";
  if (description.length === 0 || description.length > MAX_DESCRIPTION) {
    throw new ZipError(
      "skill_md_invalid",
      `SKILL.md description: 1 to ${MAX_DESCRIPTION} characters`,
    );
  }
  return { name: name.data, description, files };
}

function base64(data: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** What a device downloads: the skill's files, paths already checked. */
export function toBundle(skill: ParsedSkill): SkillBundle {
  return {
    name: skill.name,
    files: skill.files.map((f) => ({
      path: f.path,
      executable: f.executable,
      dataBase64: base64(f.data),
    })),
  };
}
