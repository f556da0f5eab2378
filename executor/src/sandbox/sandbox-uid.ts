// Which uid a cloud agent runs as (executor as root). The range is chosen to collide with no
// convention we know of:
//   0–999 system users, 1000–60000 regular users (login.defs), 60001–60513 systemd-homed,
//   61184–65519 systemd's DynamicUser=, 65534 nobody, 65535 (16-bit -1), 100000+ the default
//   /etc/subuid ranges of rootless containers, 524288+ systemd-nspawn's container ranges.
// 70000–71999 sits in the gap above 16 bits and below /etc/subuid's default start. A uid is
// taken only if nothing on the machine uses it: not named in /etc/passwd or /etc/group (LDAP
// or other NSS sources are not asked), owning no running process, and not held by another
// task of this executor.
import { readdirSync, readFileSync } from "node:fs";

export const SANDBOX_UID_FIRST = 70000;
export const SANDBOX_UID_COUNT = 2000;

export interface UidSources {
  passwdFile?: string;
  groupFile?: string;
  procDir?: string;
}

/** The ids (third field) named in a passwd- or group-style file. */
function namedIds(file: string): Set<number> {
  const ids = new Set<number>();
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return ids;
  }
  for (const line of text.split("\n")) {
    const id = Number(line.split(":")[2]);
    if (line.trim() !== "" && Number.isInteger(id)) ids.add(id);
  }
  return ids;
}

/** Real, effective, saved and filesystem uids of every process we can see. */
function processUids(procDir: string): Set<number> {
  const uids = new Set<number>();
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    return uids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`${procDir}/${entry}/status`, "utf8");
      const line = /^Uid:\s+(.*)$/m.exec(status)?.[1] ?? "";
      for (const uid of line.trim().split(/\s+/)) uids.add(Number(uid));
    } catch {
      // It ended while we looked.
    }
  }
  return uids;
}

/**
 * A free uid in the range for `taskId`: the one its id hashes to, or the next free one after
 * it. Throws when every uid of the range is in use.
 */
export function freeSandboxUid(
  taskId: string,
  taken: ReadonlySet<number> = new Set(),
  sources: UidSources = {},
): number {
  const used = new Set<number>([
    ...taken,
    ...namedIds(sources.passwdFile ?? "/etc/passwd"),
    ...namedIds(sources.groupFile ?? "/etc/group"),
    ...processUids(sources.procDir ?? "/proc"),
  ]);
  let hash = 0;
  for (const ch of taskId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  for (let i = 0; i < SANDBOX_UID_COUNT; i++) {
    const uid = SANDBOX_UID_FIRST + ((hash + i) % SANDBOX_UID_COUNT);
    if (!used.has(uid)) return uid;
  }
  const last = SANDBOX_UID_FIRST + SANDBOX_UID_COUNT - 1;
  throw new Error(`No free sandbox uid in ${SANDBOX_UID_FIRST}-${last}: all are in use.`);
}
