// What every bench and gauntlet scenario needs around the e2e harness: users with tokens, the
// check that nothing was left behind, and the workerd processes to measure.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { api, createToken, type Session, signUp, until } from "../../e2e/harness";

export interface BenchUser {
  name: string;
  session: Session;
  token: string;
  tokenId: string;
}

let users = 0;

export async function newUser(origin: string, prefix = "bench"): Promise<BenchUser> {
  users += 1;
  const name = `${prefix}_${process.pid}_${users}`;
  const session = await signUp(origin, name);
  const created = await createToken(origin, session, { name: `${name} token` });
  return { name, session, token: created.token, tokenId: created.id };
}

interface DeviceView {
  id: string;
  status: string;
  slotsUsed: number;
  queueLength: number;
}
interface TaskView {
  id: string;
  status: string;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * The after-every-scenario check: no task of the user left non-terminal and every device's
 * slots back to 0 with an empty queue (waits up to `ms` for the platform to settle).
 */
export async function leftovers(origin: string, user: BenchUser, msec = 20_000): Promise<string[]> {
  const end = Date.now() + msec;
  for (;;) {
    const problems: string[] = [];
    const tasks = await api<{ tasks: TaskView[] }>(origin, "GET", "/api/tasks?limit=100", {
      cookie: user.session.cookie,
    });
    for (const t of tasks.body.tasks ?? []) {
      if (!TERMINAL.has(t.status)) problems.push(`task ${t.id} is ${t.status}`);
    }
    const devices = await api<{ devices: DeviceView[] }>(origin, "GET", "/api/devices", {
      cookie: user.session.cookie,
    });
    for (const d of devices.body.devices ?? []) {
      if (d.slotsUsed !== 0) problems.push(`device ${d.id} has slotsUsed ${d.slotsUsed}`);
      if (d.queueLength !== 0) problems.push(`device ${d.id} has queueLength ${d.queueLength}`);
    }
    if (problems.length === 0 || Date.now() > end) return problems;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function waitDeviceStatus(
  origin: string,
  user: BenchUser,
  deviceId: string,
  status: string,
  msec: number,
) {
  return until(
    async () => {
      const res = await api<{ device: DeviceView }>(origin, "GET", `/api/devices/${deviceId}`, {
        cookie: user.session.cookie,
      });
      return res.body.device?.status === status ? res.body.device : undefined;
    },
    msec,
    `device ${deviceId} to be ${status}`,
  );
}

/** Pids of the `workerd` processes descending from this process (the platform's runtime). */
export function workerdPids(): number[] {
  const children = new Map<number, number[]>();
  const comm = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      comm.set(Number(entry), name);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // process ended while we read
    }
  }
  const out: number[] = [];
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop()!;
    for (const child of children.get(pid) ?? []) {
      if (comm.get(child) === "workerd") out.push(child);
      stack.push(child);
    }
  }
  return out;
}

/**
 * Which of those workerd processes is wrangler's dev proxy (it serves `--port`, the address
 * clients dial) and which the runtime that runs the Worker and its Durable Objects.
 */
export function workerdRoles(proxyPort: number): { runtime: number[]; proxy: number[] } {
  const roles = { runtime: [] as number[], proxy: [] as number[] };
  for (const pid of workerdPids()) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone
    }
    const serves = args.includes(`--socket-addr=entry=127.0.0.1:${proxyPort}`);
    (serves ? roles.proxy : roles.runtime).push(pid);
  }
  return roles;
}

/** Resident memory of a process in bytes (0 when it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

export function fdLimit(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    return line?.replace(/\s+/g, " ").trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** CPU time (user + system) a process has used, in milliseconds (0 when it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name), in clock ticks.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Loopback ports a process listens on (from /proc: its socket inodes matched to LISTEN rows). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed while we read
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // local address, state 0A = LISTEN, inode in field 9
    if (f.length > 9 && f[3] === "0A" && inodes.has(f[9]!)) {
      ports.push(parseInt(f[1]!.split(":")[1]!, 16));
    }
  }
  return ports;
}

/**
 * The Worker's own address inside `wrangler dev`, behind wrangler's dev-only proxy worker (which
 * every request and socket to `--port` crosses, and which production does not have): the port of
 * a descendant workerd, other than the proxy's, that answers `/api/health`. Undefined if none.
 */
export async function runtimeOrigin(proxyPort: number): Promise<string | undefined> {
  for (const pid of workerdPids()) {
    for (const port of listeningPorts(pid)) {
      if (port === proxyPort) continue;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/health`, {
          signal: AbortSignal.timeout(2000),
        });
        const body = (await res.json()) as { ok?: boolean };
        if (res.ok && body.ok === true) return `http://127.0.0.1:${port}`;
      } catch {
        // not the Worker's socket (the inspector, a service's loopback)
      }
    }
  }
  return undefined;
}
