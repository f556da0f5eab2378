// The cloud-pool sandbox: each agent runs under bubblewrap (Debian package `bubblewrap`) in
// its own network, pid, ipc, uts and mount namespaces (no route to the host's loopback or
// network: the model is reached through a per-run Unix socket, relay.ts), sees a read-only system and only its own task's
// workspace and HOME, gets a fresh /proc and /tmp, and dies with the executor. Started as
// root, the executor sets the sandbox up as root (so it can bind folders root can reach) and
// drops to a separate uid inside with setpriv (no capabilities, no_new_privs, no groups).
import { spawnSync } from "node:child_process";
import {
  accessSync,
  chownSync,
  constants,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { SANDBOX_RUN_DIR } from "./relay";
import { freeSandboxUid } from "./sandbox-uid";

/** Inside the sandbox. */
export const SANDBOX_WORKSPACE = "/workspace";
export const SANDBOX_HOME = "/home/agent";

/** /etc entries the agent needs (DNS, TLS roots, libraries, alternatives); nothing else. */
const ETC_ENTRIES = [
  "hosts",
  "resolv.conf",
  "nsswitch.conf",
  "host.conf",
  "ssl",
  "ca-certificates",
  "ca-certificates.conf",
  "ld.so.cache",
  "ld.so.conf",
  "ld.so.conf.d",
  "alternatives",
  "localtime",
  "timezone",
  "os-release",
  "debian_version",
  "mime.types",
  "gitconfig",
  "bash.bashrc",
  "profile",
  "inputrc",
  "terminfo",
];

export interface SandboxIdentity {
  /** Drop to this uid/gid inside (only when the executor is root). */
  uid: number;
  gid: number;
  dropPrivileges: boolean;
}

export interface SandboxMounts {
  workspaceDir: string;
  homeDir: string;
  /** Folder holding this sandbox's passwd and group files. */
  etcDir: string;
  /** Extra read-only folders (the Claude Code install, Node). */
  readOnly: string[];
  /** Folder holding this run's model socket, mounted read-only at SANDBOX_RUN_DIR. */
  runDir?: string;
}

export interface SandboxExtras {
  /** Size of the sandbox's /tmp (tmpfs), bytes. */
  tmpBytes?: number;
  /** Run inside the sandbox, as root, before dropping privileges (e.g. prlimit … --). */
  prefix?: string[];
}

export const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0;

/**
 * A free uid per task in 70000–71999 when root (sandbox-uid.ts: why that range, what "free"
 * means; `taken`: the uids other tasks of this executor hold); the executor's own uid otherwise.
 */
export function sandboxIdentity(
  taskId: string,
  taken: ReadonlySet<number> = new Set(),
): SandboxIdentity {
  if (!isRoot()) {
    return {
      uid: process.getuid?.() ?? 1000,
      gid: process.getgid?.() ?? 1000,
      dropPrivileges: false,
    };
  }
  const uid = freeSandboxUid(taskId, taken);
  return { uid, gid: uid, dropPrivileges: true };
}

/** passwd/group files naming the sandbox user (Claude Code and shells look the user up). */
export function writeIdentityFiles(etcDir: string, id: SandboxIdentity): void {
  mkdirSync(etcDir, { recursive: true, mode: 0o755 });
  writeFileSync(
    join(etcDir, "passwd"),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:${id.uid}:${id.gid}:agent:${SANDBOX_HOME}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    { mode: 0o644 },
  );
  writeFileSync(join(etcDir, "group"), `root:x:0:\nagent:x:${id.gid}:\nnogroup:x:65534:\n`, {
    mode: 0o644,
  });
}

export function chownForSandbox(dirs: string[], id: SandboxIdentity): void {
  if (!id.dropPrivileges) return;
  for (const dir of dirs) chownSync(dir, id.uid, id.gid);
}

function systemMounts(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const dir of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    let link: boolean;
    try {
      link = lstatSync(dir).isSymbolicLink();
    } catch {
      continue;
    }
    // Merged /usr: keep the symlink (usr/bin) rather than a second bind.
    if (link) args.push("--symlink", `usr${dir}`, dir);
    else args.push("--ro-bind", dir, dir);
  }
  args.push("--perms", "0755", "--dir", "/etc");
  for (const entry of ETC_ENTRIES) args.push("--ro-bind-try", `/etc/${entry}`, `/etc/${entry}`);
  return args;
}

const SYSTEM = /^\/(usr|bin|sbin|lib|lib32|lib64|libx32|etc|proc|dev)(\/|$)/;

/** Folders above `dirs` that bwrap would create, outermost first (none inside another bind). */
export function parentsOf(dirs: string[]): string[] {
  const inside = (path: string) => dirs.some((d) => path === d || path.startsWith(`${d}/`));
  const parents = new Set<string>();
  for (const dir of dirs) {
    for (let p = dirname(dir); p !== "/" && p !== "."; p = dirname(p)) {
      if (!SYSTEM.test(p) && !inside(p)) parents.add(p);
    }
  }
  return [...parents].sort((a, b) => a.split("/").length - b.split("/").length);
}

/** `bwrap ... --` followed by the command to run inside. */
export function bwrapArgs(
  mounts: SandboxMounts,
  id: SandboxIdentity,
  extras: SandboxExtras = {},
): string[] {
  const args = [
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    "wegent-task",
    "--die-with-parent",
    "--new-session",
    ...(id.dropPrivileges ? ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] : []),
    ...systemMounts(),
    "--ro-bind",
    join(mounts.etcDir, "passwd"),
    "/etc/passwd",
    "--ro-bind",
    join(mounts.etcDir, "group"),
    "/etc/group",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    ...(extras.tmpBytes ? ["--size", String(extras.tmpBytes)] : []),
    "--perms",
    "1777",
    "--tmpfs",
    "/tmp",
    "--perms",
    "0755",
    "--dir",
    "/home",
    "--perms",
    "0755",
    "--dir",
    "/run",
  ];
  // bwrap makes a bind's missing parents 0700 (root's): the task's uid could not reach an
  // install outside the system folders (e.g. /work/app/node_modules/…). Made 0755 first.
  for (const parent of parentsOf(mounts.readOnly)) args.push("--perms", "0755", "--dir", parent);
  for (const dir of mounts.readOnly) args.push("--ro-bind", dir, dir);
  if (mounts.runDir) args.push("--ro-bind", mounts.runDir, SANDBOX_RUN_DIR);
  args.push(
    "--bind",
    mounts.workspaceDir,
    SANDBOX_WORKSPACE,
    "--bind",
    mounts.homeDir,
    SANDBOX_HOME,
    "--chdir",
    SANDBOX_WORKSPACE,
    "--",
    ...(extras.prefix ?? []),
  );
  if (id.dropPrivileges) {
    args.push(
      "/usr/bin/setpriv",
      `--reuid=${id.uid}`,
      `--regid=${id.gid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "--",
    );
  }
  return args;
}

/** Read-only folders a command at `path` needs when it lives outside the system folders. */
export function installDirOf(path: string): string | null {
  if (/^\/(usr|bin|sbin|lib|lib64)\//.test(path)) return null;
  return dirname(path);
}

/** `bwrap` (or another program) on the executor's PATH, or null. */
export function findBwrap(path = process.env.PATH ?? "", name = "bwrap"): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

/**
 * Runs a real sandbox once (`id -u` inside, as the agent would run, with the tasks' extras) and
 * returns null when it works — its own uid, no network interface but its own loopback — else
 * what went wrong.
 */
export function probeSandbox(bwrap: string | null, extras: SandboxExtras = {}): string | null {
  if (bwrap === null) return "bwrap is not installed (not found on PATH)";
  const root = mkdtempSync(join(tmpdir(), "wegent-sandbox-probe-"));
  try {
    const id = sandboxIdentity("probe");
    const mounts: SandboxMounts = {
      workspaceDir: join(root, "ws"),
      homeDir: join(root, "home"),
      etcDir: join(root, "etc"),
      readOnly: [],
    };
    mkdirSync(mounts.workspaceDir);
    mkdirSync(mounts.homeDir);
    writeIdentityFiles(mounts.etcDir, id);
    chownForSandbox([mounts.workspaceDir, mounts.homeDir], id);
    const result = spawnSync(
      bwrap,
      [
        ...bwrapArgs(mounts, id, extras),
        "/bin/sh",
        "-c",
        `id -u && touch ${SANDBOX_HOME}/ok ${SANDBOX_WORKSPACE}/ok && sed -n '3,$p' /proc/net/dev | cut -d: -f1`,
      ],
      { encoding: "utf8", timeout: 10_000, env: { PATH: "/usr/bin:/bin" } },
    );
    if (result.error) return result.error.message;
    if (result.status !== 0) return (result.stderr || `exit ${result.status}`).trim().slice(0, 500);
    const [uid, ...interfaces] = result.stdout.split("\n").map((l) => l.trim());
    if (uid !== String(id.uid)) return `the sandbox ran as uid ${uid}, expected ${id.uid}`;
    const foreign = interfaces.filter((name) => name !== "" && name !== "lo");
    if (foreign.length > 0)
      return `the sandbox has network interfaces besides its own loopback: ${foreign.join(", ")}`;
    return null;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
