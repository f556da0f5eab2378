import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { taskPaths } from "../src/workspace/places";
import { restoreTask } from "../src/workspace/restore";
import { type TarSource, tarStream } from "../src/workspace/tar";

// A restore takes an archive that may come from another device of the same owner — a
// compromised one. It must refuse (whole, never truncated) what unpacks too big or into too
// many files, never make a link, and stage where no one can guess or enter.

const TASK = "22222222-3333-4444-8555-666666666666";

function device() {
  const root = mkdtempSync(join(tmpdir(), "wegent-restore-"));
  const roots = { workspaceRoot: join(root, "workspaces"), homeDir: join(root, "home") };
  const paths = taskPaths(roots, TASK);
  mkdirSync(paths.workspaceDir, { recursive: true });
  writeFileSync(join(paths.workspaceDir, "mine.txt"), "as it was");
  return { roots, paths, context: { roots, taskId: TASK, deviceId: "d", projects: () => [] } };
}

const file = (name: string, data: Buffer): TarSource => ({
  name,
  data,
  kind: "file",
  size: data.length,
  mode: 0o644,
  mtimeMs: 0,
});

async function archive(sources: TarSource[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(sources)) chunks.push(chunk);
  return gzipSync(Buffer.concat(chunks));
}

const expected = (gz: Buffer) => ({
  sha256: createHash("sha256").update(gz).digest("hex"),
  size: gz.length,
});

/** A raw tar header (for entry types our writer never makes). */
function header(name: string, type: string, linkName = ""): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("00000000000\0", 124);
  h.write(type, 156);
  h.write(linkName, 157);
  h.write("ustar\0", 257);
  h.write("00", 263);
  h.write("        ", 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return h;
}

describe("restores that do not trust the archive", () => {
  it("refuses an archive that unpacks past the byte cap, and leaves the workspace as it was", async () => {
    const d = device();
    // 3 MiB of zeros: a 3 KiB download (a gzip bomb in small).
    const gz = await archive([file("workspace/zeros.bin", Buffer.alloc(3 * 1024 * 1024))]);
    expect(gz.length).toBeLessThan(10_000);
    const limits = { maxBytes: 1024 * 1024, maxEntries: 1000 };
    await expect(restoreTask(d.context, Readable.from([gz]), expected(gz), limits)).rejects.toThrow(
      /too large to restore: it unpacks to more than 1048576 bytes/,
    );
    expect(readdirSync(d.paths.workspaceDir)).toEqual(["mine.txt"]);
    expect(readdirSync(d.roots.workspaceRoot).filter((n) => n.startsWith(".restore"))).toEqual([]);
  });

  it("refuses an archive with more files than the cap", async () => {
    const d = device();
    const many = Array.from({ length: 50 }, (_, i) =>
      file(`workspace/f${i}.txt`, Buffer.from("x")),
    );
    const gz = await archive(many);
    const limits = { maxBytes: 1024 * 1024, maxEntries: 20 };
    await expect(restoreTask(d.context, Readable.from([gz]), expected(gz), limits)).rejects.toThrow(
      /holds more than 20 files and folders/,
    );
    expect(readdirSync(d.paths.workspaceDir)).toEqual(["mine.txt"]);
  });

  it("restores within the caps (the caps are not off by one)", async () => {
    const d = device();
    const gz = await archive([file("workspace/a.txt", Buffer.alloc(1000, 97))]);
    const limits = { maxBytes: 1000, maxEntries: 1 };
    const done = await restoreTask(d.context, Readable.from([gz]), expected(gz), limits);
    expect(done.files).toBe(1);
    expect(statSync(join(d.paths.workspaceDir, "a.txt")).size).toBe(1000);
  });

  it("never makes a hard link (or a symlink) from an entry: the archive is refused", async () => {
    const d = device();
    for (const [type, target] of [
      ["1", "/etc/passwd"],
      ["2", "/etc/passwd"],
      ["1", "workspace/mine.txt"],
    ] as const) {
      const tar = Buffer.concat([
        header(`workspace/link-${type}`, type, target),
        Buffer.alloc(1024),
      ]);
      const gz = gzipSync(tar);
      await expect(restoreTask(d.context, Readable.from([gz]), expected(gz))).rejects.toThrow(
        /entry type "[12]" is not allowed/,
      );
      expect(readdirSync(d.paths.workspaceDir)).toEqual(["mine.txt"]);
    }
  });

  it("stages in a fresh private folder (mkdtemp, 0700) with a name no one can guess", async () => {
    const d = device();
    const gz = await archive([file("workspace/a.txt", Buffer.from("restored"))]);
    const body = new PassThrough();
    const done = restoreTask(d.context, body, expected(gz));
    body.write(gz.subarray(0, 10));
    let staging: string | undefined;
    for (let i = 0; i < 200 && !staging; i++) {
      await new Promise((r) => setTimeout(r, 10));
      staging = readdirSync(d.roots.workspaceRoot).find((n) => n.startsWith(".restore-"));
    }
    expect(staging).toBeDefined();
    const mode = statSync(join(d.roots.workspaceRoot, staging!)).mode & 0o777;
    expect(mode.toString(8)).toBe("700");
    // mkdtemp's random suffix, not a clock reading.
    expect(staging).toMatch(new RegExp(`^\\.restore-${TASK}-[A-Za-z0-9]{6}$`));
    body.end(gz.subarray(10));
    expect((await done).files).toBe(1);
    expect(existsSync(join(d.roots.workspaceRoot, staging!))).toBe(false);
  });
});
