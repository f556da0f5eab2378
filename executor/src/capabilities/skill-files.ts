// Writes one downloaded skill into the executor's managed folder. The platform already checked
// the zip, but the device trusts nothing it did not check itself: every path must stay inside
// the skill's folder, files are created fresh (never through an existing link), and the total
// size is capped.
import { mkdir, open } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { MAX_SKILL_FILES, MAX_SKILL_UNPACKED_BYTES, SkillBundle } from "@wegent/protocol";

export class SkillFileError extends Error {}

/** The same rules as the platform: relative, '/'-separated, no '.', '..' or empty parts. */
export function safeRelativePath(path: string): string {
  if (path.length === 0 || path.length > 500) throw new SkillFileError(`bad path length`);
  if (/[\p{Cc}\\:*?"<>|]/u.test(path)) throw new SkillFileError(`"${path}": bad character`);
  if (path.startsWith("/")) throw new SkillFileError(`"${path}": absolute path`);
  for (const part of path.split("/")) {
    if (part === "" || part === "." || part === "..") {
      throw new SkillFileError(`"${path}": leaves its folder`);
    }
  }
  return path;
}

/** Writes `bundle` (untrusted JSON) into `dir`, which must not exist yet. */
export async function writeSkill(dir: string, untrusted: unknown, expectedName: string) {
  const parsed = SkillBundle.safeParse(untrusted);
  if (!parsed.success) throw new SkillFileError("the skill download is malformed");
  const bundle = parsed.data;
  if (bundle.name !== expectedName) throw new SkillFileError("the skill download has another name");
  if (bundle.files.length > MAX_SKILL_FILES) throw new SkillFileError("too many files");
  if (!bundle.files.some((f) => f.path === "SKILL.md")) throw new SkillFileError("no SKILL.md");
  const root = resolve(dir);
  await mkdir(root, { recursive: false });
  let total = 0;
  for (const file of bundle.files) {
    const target = resolve(root, safeRelativePath(file.path));
    const rel = relative(root, target);
    if (rel.startsWith("..") || rel.startsWith(sep) || rel === "") {
      throw new SkillFileError(`"${file.path}": leaves its folder`);
    }
    const data = Buffer.from(file.dataBase64, "base64");
    total += data.length;
    if (total > MAX_SKILL_UNPACKED_BYTES) throw new SkillFileError("the skill is too large");
    await mkdir(dirname(target), { recursive: true });
    // "wx": fails if anything (a file, or a link planted there) already exists at the path.
    const handle = await open(target, "wx", file.executable ? 0o755 : 0o644);
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  }
  return join(root, "SKILL.md");
}
