// A small, strict zip reader for uploaded skills. It reads the central directory (the truth a
// zip tool shows), refuses what a skill never needs and an attacker likes — links, devices,
// encryption, zip64, paths that leave the folder, duplicates, bombs — and inflates with the
// runtime's own DecompressionStream, never past the size each entry declares.

export class ZipError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ZipEntry {
  /** Relative, '/'-separated, validated. */
  path: string;
  executable: boolean;
  data: Uint8Array;
}

export interface ZipLimits {
  maxFiles: number;
  maxUnpackedBytes: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

let crcTable: Uint32Array | null = null;
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Refuses any path that could land outside the skill's folder or confuse a file system. */
export function checkPath(path: string): void {
  const bad = (why: string) => new ZipError("zip_path", `"${path.slice(0, 200)}": ${why}`);
  if (path.length === 0 || path.length > 500) throw bad("empty or too long");
  if (/[\p{Cc}\\:*?"<>|]/u.test(path)) throw bad("contains a character a path may not have");
  if (path.startsWith("/")) throw bad("is an absolute path");
  const parts = path.replace(/\/$/, "").split("/");
  for (const part of parts) {
    if (part === "" || part === "." || part === "..") throw bad("leaves or escapes its folder");
  }
}

/**
 * How a file system that ignores case and Unicode normalisation (macOS, Windows) names a path:
 * NFC, lower-cased. Two entries with the same key land on one file there.
 */
const folded = (path: string) => path.normalize("NFC").toLowerCase().normalize("NFC");

/**
 * Names that cannot all be written to a folder: a file `a` and a folder `a/…` (in either
 * order), or two names equal after Unicode normalisation (NFC/NFD) or case folding. Every
 * device would fail to unpack such a skill (or silently keep one of the two).
 */
class NameClashes {
  private readonly files = new Map<string, string>();
  private readonly folders = new Map<string, string>();

  add(path: string, isDir: boolean): void {
    const clash = (other: string, why: string) =>
      new ZipError(
        "zip_name_clash",
        `"${path.slice(0, 200)}" and "${other.slice(0, 200)}" ${why}; rename one of them`,
      );
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      const key = folded(folder);
      const file = this.files.get(key);
      if (file !== undefined) throw clash(file, "are a file and a folder of the same name");
      if (!this.folders.has(key)) this.folders.set(key, folder);
    }
    const key = folded(path);
    if (isDir) {
      const file = this.files.get(key);
      if (file !== undefined) throw clash(file, "are a file and a folder of the same name");
      if (!this.folders.has(key)) this.folders.set(key, path);
      return;
    }
    const folder = this.folders.get(key);
    if (folder !== undefined) throw clash(folder, "are a file and a folder of the same name");
    const file = this.files.get(key);
    if (file !== undefined) {
      throw clash(
        file,
        "are the same name once Unicode-normalised or case-folded (macOS, Windows)",
      );
    }
    this.files.set(key, path);
  }
}

async function inflate(raw: Uint8Array, expected: number): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(raw)])
    .stream()
    .pipeThrough(new DecompressionStream("deflate-raw"));
  const reader = stream.getReader();
  const out = new Uint8Array(expected);
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > expected) {
        throw new ZipError("zip_bomb", "an entry inflates past the size it declares");
      }
      out.set(value, size);
      size += value.length;
    }
  } catch (error) {
    if (error instanceof ZipError) throw error;
    throw new ZipError("bad_zip", "an entry's compressed data is corrupt");
  } finally {
    reader.releaseLock();
  }
  if (size !== expected) throw new ZipError("bad_zip", "an entry is shorter than it declares");
  return out;
}

/** Reads every file of `bytes`; directories are checked and dropped. */
export async function readZip(bytes: Uint8Array, limits: ZipLimits): Promise<ZipEntry[]> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const notZip = () => new ZipError("bad_zip", "the body is not a zip archive");
  if (bytes.length < 22) throw notZip();
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (u32(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip();
  const count = u16(eocd + 10);
  const cdSize = u32(eocd + 12);
  const cdOffset = u32(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff)
    throw new ZipError("bad_zip", "zip64 is not supported");
  if (u16(eocd + 4) !== 0 || u16(eocd + 8) !== count)
    throw new ZipError("bad_zip", "multi-part zips are not supported");
  if (cdOffset + cdSize > eocd) throw notZip();
  if (count > limits.maxFiles * 2)
    throw new ZipError("too_many_files", `more than ${limits.maxFiles} files`);

  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const seen = new Set<string>();
  const names = new NameClashes();
  const entries: ZipEntry[] = [];
  let total = 0;
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || u32(at) !== CENTRAL) throw notZip();
    const madeBy = u16(at + 4) >> 8;
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    const compressed = u32(at + 20);
    const size = u32(at + 24);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    const commentLen = u16(at + 32);
    const external = u32(at + 38);
    const localOffset = u32(at + 42);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    } catch {
      throw new ZipError("zip_path", "a file name is not valid UTF-8");
    }
    at += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new ZipError("zip_encrypted", `"${name}" is encrypted`);
    checkPath(name);
    const mode = madeBy === 3 ? external >>> 16 : 0;
    const type = mode & S_IFMT;
    const isDir =
      name.endsWith("/") || type === S_IFDIR || (madeBy === 0 && (external & 0x10) !== 0);
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
      throw new ZipError(
        "zip_link",
        `"${name}" is a link or special file; skills may hold regular files only`,
      );
    }
    const key = name.replace(/\/$/, "");
    if (seen.has(key)) throw new ZipError("zip_duplicate", `"${name}" appears twice`);
    seen.add(key);
    names.add(key, isDir);
    if (isDir) continue;
    if (name.startsWith("__MACOSX/")) continue;
    if (entries.length >= limits.maxFiles)
      throw new ZipError("too_many_files", `more than ${limits.maxFiles} files`);
    total += size;
    if (total > limits.maxUnpackedBytes) {
      throw new ZipError(
        "too_large",
        `the files add up to more than ${limits.maxUnpackedBytes} bytes`,
      );
    }
    if (method !== 0 && method !== 8)
      throw new ZipError("bad_zip", `"${name}" uses an unsupported compression`);
    if (localOffset + 30 > bytes.length || u32(localOffset) !== LOCAL) throw notZip();
    const dataAt = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (dataAt + compressed > bytes.length) throw notZip();
    const raw = bytes.subarray(dataAt, dataAt + compressed);
    let data: Uint8Array;
    if (method === 0) {
      if (compressed !== size) throw notZip();
      data = raw.slice();
    } else {
      data = await inflate(raw, size);
    }
    if (crc32(data) !== crc) throw new ZipError("bad_zip", `"${name}" fails its checksum`);
    entries.push({ path: name, executable: (mode & 0o111) !== 0, data });
  }
  return entries;
}
