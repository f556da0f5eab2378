import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname, join, posix, resolve, sep } from "node:path";

// A small streaming tar (POSIX ustar + pax `path` records) for workspace archives: regular files
// and directories only. The writer yields 512-byte-aligned chunks; the reader consumes any
// chunking and never holds more than one chunk plus a header in memory.

const BLOCK = 512;

export interface TarSource {
  /** Path inside the archive, `/`-separated, relative. */
  name: string;
  /** Absolute path on disk (files only). */
  path?: string;
  /** A small file's content given in memory (the manifest) instead of `path`. */
  data?: Buffer;
  kind: "file" | "dir";
  size: number;
  mode: number;
  mtimeMs: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(
  name: string,
  kind: "file" | "dir" | "pax",
  size: number,
  mode: number,
  mtime: number,
) {
  const buf = Buffer.alloc(BLOCK);
  buf.write(name.slice(0, 100), 0, 100, "utf8");
  buf.write(octal(mode & 0o7777, 8), 100);
  buf.write(octal(0, 8), 108);
  buf.write(octal(0, 8), 116);
  buf.write(octal(size, 12), 124);
  buf.write(octal(Math.floor(mtime / 1000), 12), 136);
  buf.write("        ", 148);
  buf.write(kind === "file" ? "0" : kind === "dir" ? "5" : "x", 156);
  buf.write("ustar\0", 257);
  buf.write("00", 263);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(octal(sum, 7) + " ", 148);
  return buf;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return Buffer.from(`${length}${body}`);
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The tar stream of `sources`; a file that changes size while read fails the archive. */
export async function* tarStream(sources: Iterable<TarSource>): AsyncGenerator<Buffer> {
  for (const source of sources) {
    const name = source.kind === "dir" ? `${source.name}/` : source.name;
    // A control character (a newline) in a name would not come back as the same name: the
    // archive fails instead, so cleanup keeps the workspace rather than trust it.
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(name)) {
      throw new Error(`${JSON.stringify(name)}: a file name with a control character`);
    }
    if (Buffer.byteLength(name) > 100 || /[^\x20-\x7e]/.test(name)) {
      const pax = paxRecord("path", name);
      yield header("PaxHeader", "pax", pax.length, 0o644, source.mtimeMs);
      yield Buffer.concat([pax, padding(pax.length)]);
    }
    const size = source.kind === "file" ? source.size : 0;
    yield header(name, source.kind, size, source.mode, source.mtimeMs);
    if (source.kind === "file" && source.data) {
      yield source.data;
      yield padding(size);
      continue;
    }
    if (source.kind !== "file" || !source.path) continue;
    // O_NOFOLLOW: a file swapped for a symlink after it was listed is not read through.
    const handle = await open(source.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    let read = 0;
    try {
      const stream = handle.createReadStream({ autoClose: false, highWaterMark: 256 * 1024 });
      for await (const chunk of stream) {
        const buf = chunk as Buffer;
        read += buf.length;
        if (read > size) throw new Error(`${source.name} grew while it was archived`);
        yield buf;
      }
    } finally {
      await handle.close();
    }
    if (read !== size) throw new Error(`${source.name} shrank while it was archived`);
    yield padding(size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function field(buf: Buffer, offset: number, length: number): string {
  const raw = buf.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

function parseOctal(buf: Buffer, offset: number, length: number): number {
  const text = field(buf, offset, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error("tar: bad number in a header");
  return text === "" ? 0 : parseInt(text, 8);
}

/** A relative path that stays inside its root, or an error. */
export function safeRelative(name: string): string {
  const normal = posix.normalize(name.replace(/\/+$/, ""));
  if (
    normal === "" ||
    normal === "." ||
    normal.startsWith("/") ||
    normal === ".." ||
    normal.startsWith("../") ||
    normal.includes("\0")
  ) {
    throw new Error(`tar: unsafe path ${JSON.stringify(name)}`);
  }
  return normal;
}

export interface ExtractTarget {
  /** Where an entry goes (absolute), or null to refuse the archive. */
  place(name: string): string | null;
  /** Refuse (before writing it) an entry that would take the unpacked bytes past this. */
  maxBytes?: number;
  /** Refuse an archive with more entries (files and folders) than this. */
  maxEntries?: number;
}

/** The archive unpacks to more than the restore allows: refused whole, never truncated. */
export class TarLimitError extends Error {}

/**
 * Unpacks a tar stream under fresh directories (the caller makes them; nothing in them is a
 * symlink, because this never creates one). Returns the number of files written.
 */
export async function extractTar(
  input: AsyncIterable<Buffer>,
  target: ExtractTarget,
): Promise<{ files: number }> {
  let pending: Buffer = Buffer.alloc(0);
  let files = 0;
  let paxPath: string | null = null;
  let zeroBlocks = 0;
  let bytes = 0;
  let entries = 0;
  const iterator = input[Symbol.asyncIterator]();
  const need = async (n: number): Promise<Buffer | null> => {
    while (pending.length < n) {
      const next = await iterator.next();
      if (next.done) return null;
      pending = pending.length === 0 ? next.value : Buffer.concat([pending, next.value]);
    }
    const out = pending.subarray(0, n);
    pending = pending.subarray(n);
    return out;
  };
  for (;;) {
    const head = await need(BLOCK);
    if (!head) throw new Error("tar: the archive ends without its end marker (truncated)");
    if (head.every((b) => b === 0)) {
      zeroBlocks += 1;
      if (zeroBlocks === 2) {
        // Read to the end, so the caller's checksum covers every byte that was sent.
        while (!(await iterator.next()).done);
        return { files };
      }
      continue;
    }
    zeroBlocks = 0;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : head[i]!;
    if (sum !== parseOctal(head, 148, 8)) throw new Error("tar: header checksum mismatch");
    const type = String.fromCharCode(head[156]!);
    const size = parseOctal(head, 124, 12);
    const mode = parseOctal(head, 100, 8);
    const prefix = field(head, 345, 155);
    const rawName = paxPath ?? (prefix ? `${prefix}/${field(head, 0, 100)}` : field(head, 0, 100));
    paxPath = null;
    const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === "x") {
      if (size > 64 * 1024) throw new Error("tar: pax header too large");
      const body = await need(padded);
      if (!body) throw new Error("tar: truncated pax header");
      const text = body.subarray(0, size).toString("utf8");
      const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
      paxPath = match ? match[1]! : null;
      continue;
    }
    if (type !== "0" && type !== "\0" && type !== "5") {
      throw new Error(`tar: entry type ${JSON.stringify(type)} is not allowed (${rawName})`);
    }
    const name = safeRelative(rawName);
    entries += 1;
    bytes += type === "5" ? 0 : size;
    if (target.maxEntries !== undefined && entries > target.maxEntries) {
      throw new TarLimitError(`it holds more than ${target.maxEntries} files and folders`);
    }
    if (target.maxBytes !== undefined && bytes > target.maxBytes) {
      throw new TarLimitError(`it unpacks to more than ${target.maxBytes} bytes`);
    }
    const dest = target.place(name);
    if (!dest) throw new Error(`tar: unexpected entry ${name}`);
    if (type === "5") {
      await mkdir(dest, { recursive: true });
      continue;
    }
    await mkdir(dirname(dest), { recursive: true });
    const handle = await open(dest, "wx", mode & 0o777 ? (mode & 0o777) | 0o600 : 0o644);
    try {
      let left = size;
      while (left > 0) {
        if (pending.length === 0) {
          const next = await iterator.next();
          if (next.done) throw new Error("tar: the archive is truncated inside a file");
          pending = next.value;
        }
        const take = pending.subarray(0, Math.min(left, pending.length));
        pending = pending.subarray(take.length);
        await handle.write(take);
        left -= take.length;
      }
    } finally {
      await handle.close();
    }
    if (padded > size && !(await need(padded - size))) throw new Error("tar: truncated padding");
    files += 1;
  }
}

/** `dest` under `root`, refusing anything that would leave it. */
export function under(root: string, name: string): string {
  const dest = resolve(join(root, name));
  if (dest !== root && !dest.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new Error(`tar: ${name} leaves its folder`);
  }
  return dest;
}
