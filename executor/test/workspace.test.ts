import { createHash, randomBytes } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  existsSync,
  writeFileSync,
  symlinkSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { archiveTask } from "../src/workspace/archive";
import { ArchiveClient } from "../src/workspace/client";
import { cleanup } from "../src/workspace/cleanup";
import { claudeProjectName, taskPaths, type WorkspaceRoots } from "../src/workspace/places";
import { restoreTask } from "../src/workspace/restore";
import { extractTar } from "../src/workspace/tar";

// The executor's archive code against a small in-memory stand-in for the Worker's archive
// routes (the real routes are covered by the workers and e2e tests).

const TASK = "11111111-2222-4333-8444-555555555555";

interface FakeArchiveServer {
  url: string;
  parts: Map<number, Buffer>;
  stored: Buffer | null;
  /** Part numbers whose first attempt is cut off mid-body. */
  dropFirst: Set<number>;
  attempts: number[];
  close(): Promise<void>;
}

async function archiveServer(): Promise<FakeArchiveServer> {
  const state: Omit<FakeArchiveServer, "url" | "close"> = {
    parts: new Map(),
    stored: null,
    dropFirst: new Set(),
    attempts: [],
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => undefined);
    const url = new URL(req.url ?? "/", "http://x");
    const part = /\/parts\/(\d+)$/.exec(url.pathname);
    if (part && state.dropFirst.has(Number(part[1]))) {
      state.dropFirst.delete(Number(part[1]));
      state.attempts.push(Number(part[1]));
      req.socket.destroy();
      return;
    }
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.headers.authorization !== "Bearer grant") return json(401, {});
      if (req.method === "POST" && url.pathname.endsWith("/uploads")) {
        state.parts.clear();
        return json(201, { uploadId: "u1", nonce: "n1" });
      }
      if (part) {
        state.attempts.push(Number(part[1]));
        state.parts.set(Number(part[1]), body);
        return json(200, { partNumber: Number(part[1]), etag: `e${part[1]}` });
      }
      if (url.pathname.endsWith("/complete")) {
        const info = JSON.parse(body.toString()) as {
          parts: { partNumber: number }[];
          files: number;
        };
        state.stored = Buffer.concat(info.parts.map((p) => state.parts.get(p.partNumber)!));
        const sha256 = createHash("sha256").update(state.stored).digest("hex");
        return json(200, { size: state.stored.length, sha256, files: info.files, createdAt: "t" });
      }
      if (req.method === "GET") {
        res.writeHead(200);
        return res.end(state.stored);
      }
      return json(200, { ok: true });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}

const servers: FakeArchiveServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function machine() {
  const root = mkdtempSync(join(tmpdir(), "wegent-ws-"));
  const roots = { workspaceRoot: join(root, "workspaces"), homeDir: join(root, "home") };
  const paths = taskPaths(roots, TASK);
  mkdirSync(join(paths.workspaceDir, "src"), { recursive: true });
  writeFileSync(join(paths.workspaceDir, "src", "main.txt"), "hello");
  mkdirSync(join(paths.workspaceDir, "node_modules", "dep"), { recursive: true });
  writeFileSync(join(paths.workspaceDir, "node_modules", "dep", "x.js"), "cache");
  symlinkSync("/etc/passwd", join(paths.workspaceDir, "link"));
  const session = join(paths.claudeProjects, claudeProjectName(paths.workspaceDir));
  mkdirSync(session, { recursive: true });
  writeFileSync(join(session, "sess.jsonl"), '{"turn":1}\n');
  return { roots, paths };
}

const scratch = (paths: { workspaceDir: string }) =>
  ({ kind: "scratch", dir: paths.workspaceDir }) as const;
const ctx = (roots: WorkspaceRoots) => ({ roots, taskId: TASK, deviceId: "device-a" });
const rctx = (roots: WorkspaceRoots) => ({
  roots,
  taskId: TASK,
  deviceId: "device-b",
  projects: () => [],
});

describe("workspace archives (executor)", () => {
  it("round-trips a workspace and its session to another home, leaving caches and symlinks out", async () => {
    const server = await archiveServer();
    servers.push(server);
    const { roots, paths } = machine();
    const client = new ArchiveClient({ backendUrl: server.url, grant: "grant", taskId: TASK });
    const info = await archiveTask(scratch(paths), ctx(roots), client, 1024 * 1024);
    expect(info.files).toBe(2);

    const other = machine();
    const body = Readable.from([server.stored!]);
    const restored = await restoreTask(rctx(other.roots), body, info);
    expect(restored.files).toBe(2);
    expect(readFileSync(join(other.paths.workspaceDir, "src", "main.txt"), "utf8")).toBe("hello");
    expect(existsSync(join(other.paths.workspaceDir, "node_modules"))).toBe(false);
    expect(existsSync(join(other.paths.workspaceDir, "link"))).toBe(false);
    const session = join(other.paths.claudeProjects, claudeProjectName(other.paths.workspaceDir));
    expect(readFileSync(join(session, "sess.jsonl"), "utf8")).toBe('{"turn":1}\n');
  });

  it("resumes a multipart upload after a dropped connection", async () => {
    const server = await archiveServer();
    servers.push(server);
    const { roots, paths } = machine();
    writeFileSync(join(paths.workspaceDir, "big.bin"), randomBytes(10 * 1024 * 1024));
    server.dropFirst.add(2);
    const client = new ArchiveClient({
      backendUrl: server.url,
      grant: "grant",
      taskId: TASK,
      retryDelayMs: 10,
    });
    const info = await archiveTask(scratch(paths), ctx(roots), client, 64 * 1024 * 1024);
    expect(server.attempts).toEqual([1, 2, 2]);
    expect(server.parts.get(1)!.length).toBe(8 * 1024 * 1024);
    expect(info.size).toBe(server.stored!.length);
  });

  it("fails a too-large archive clearly and stores nothing", async () => {
    const server = await archiveServer();
    servers.push(server);
    const { roots, paths } = machine();
    writeFileSync(join(paths.workspaceDir, "big.bin"), randomBytes(100_000));
    const client = new ArchiveClient({ backendUrl: server.url, grant: "grant", taskId: TASK });
    await expect(archiveTask(scratch(paths), ctx(roots), client, 50_000)).rejects.toThrow(
      /larger than the 50000-byte/,
    );
    expect(server.stored).toBeNull();
  });

  it("refuses a tampered or truncated archive and leaves the device as it was", async () => {
    const server = await archiveServer();
    servers.push(server);
    const { roots, paths } = machine();
    const client = new ArchiveClient({ backendUrl: server.url, grant: "grant", taskId: TASK });
    const info = await archiveTask(scratch(paths), ctx(roots), client, 1024 * 1024);
    const other = machine();
    const web = (buf: Buffer) => Readable.from([buf]);
    const truncated = server.stored!.subarray(0, server.stored!.length - 20);
    await expect(restoreTask(rctx(other.roots), web(truncated), info)).rejects.toThrow(
      /corrupt or truncated/,
    );
    // Same bytes but the recorded checksum differs: refused by the checksum.
    await expect(
      restoreTask(rctx(other.roots), web(server.stored!), {
        ...info,
        sha256: "0".repeat(64),
      }),
    ).rejects.toThrow(/checksum/);
    expect(readFileSync(join(other.paths.workspaceDir, "src", "main.txt"), "utf8")).toBe("hello");
  });

  it("refuses archive entries that leave their folder", async () => {
    const header = Buffer.alloc(512);
    header.write("../evil.txt", 0);
    header.write("0000644\0", 100);
    header.write("00000000001\0", 124);
    header.write("0", 156);
    header.write("        ", 148);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    const tar = Buffer.concat([header, Buffer.alloc(512), Buffer.alloc(1024)]);
    await expect(extractTar(Readable.from([tar]), { place: () => "/tmp/never" })).rejects.toThrow(
      /unsafe path/,
    );
  });

  it("cleanup lists on a dry run, archives before removing, keeps what failed, and skips other folders", async () => {
    const { roots, paths } = machine();
    mkdirSync(join(roots.workspaceRoot, "my-project-checkout"), { recursive: true });
    const hooks = (fail: boolean) => ({
      running: () => false,
      archive: async () => {
        if (fail) throw new Error("upload refused");
      },
      removed: async () => undefined,
    });
    const later = Date.now() + 2 * 3600_000;
    const dry = await cleanup(roots, { olderThanHours: 1, dryRun: true }, hooks(false), later);
    expect(dry.entries).toEqual([
      expect.objectContaining({ taskId: TASK, outcome: "would_remove" }),
    ]);
    expect(existsSync(paths.workspaceDir)).toBe(true);
    const kept = await cleanup(roots, { olderThanHours: 1, dryRun: false }, hooks(true), later);
    expect(kept.entries[0]).toMatchObject({ outcome: "kept" });
    expect(kept.entries[0]?.reason).toContain("upload refused");
    expect(existsSync(paths.workspaceDir)).toBe(true);
    const young = await cleanup(roots, { olderThanHours: 5, dryRun: false }, hooks(false), later);
    expect(young.entries).toEqual([]);
    const done = await cleanup(roots, { olderThanHours: 1, dryRun: false }, hooks(false), later);
    expect(done.entries[0]).toMatchObject({ outcome: "removed" });
    expect(existsSync(paths.workspaceDir)).toBe(false);
    expect(existsSync(join(roots.workspaceRoot, "my-project-checkout"))).toBe(true);
  });
});
