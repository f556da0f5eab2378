import { createHash, randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces, type as osType } from "node:os";
import { join, resolve } from "node:path";
import { DeviceId } from "@wegent/protocol";

/** Reads a raw hardware id of this machine, or null when none can be found. */
export type HardwareIdReader = () => string | null;

/**
 * The device id: cached in `<home>/device_id` so it survives restarts, derived from the
 * hardware so a reinstall keeps the same device in the web UI, and hashed so the raw hardware
 * id never leaves the machine. The hardware alone names only the standard home
 * (`~/.wegent-executor`, given as `standardHome`); any other home (e.g. the one `npm start`
 * gives its executor) adds its own path, so two executors on one machine are two devices and
 * pairing one never replaces the other. An id already stored in a home never changes.
 */
export function loadDeviceId(
  homeDir: string,
  readHardwareId: HardwareIdReader = readHardwareIdOfThisMachine,
  mode: "local" | "cloud" = "local",
  standardHome: string | null = null,
): string {
  // A cloud-pool executor on a machine that is also someone's local device is another device:
  // its own id (salted) and its own cache file, so the two never replace each other.
  const path = join(homeDir, mode === "cloud" ? "device_id.cloud" : "device_id");
  const cached = readText(path)?.trim();
  if (cached !== undefined && DeviceId.safeParse(cached).success) return cached;
  const hardware = readHardwareId() ?? macAddress() ?? randomUUID();
  const home = resolve(homeDir);
  const raw =
    standardHome !== null && home === resolve(standardHome)
      ? hardware
      : `${hardware}\0home:${home}`;
  const id = hashDeviceId(mode === "cloud" ? `cloud:${raw}` : raw);
  mkdirSync(homeDir, { recursive: true });
  writeFileSync(path, id + "\n", { mode: 0o600 });
  return id;
}

/**
 * A home with no stored device id becomes the home of `deviceId` (given with --device-id), so a
 * later executor with another id on the same home keeps its state apart (config.ts).
 */
export function claimHome(homeDir: string, deviceId: string, mode: "local" | "cloud"): void {
  const path = join(homeDir, mode === "cloud" ? "device_id.cloud" : "device_id");
  if (readText(path) !== null) return;
  mkdirSync(homeDir, { recursive: true });
  try {
    writeFileSync(path, deviceId + "\n", { mode: 0o600, flag: "wx" });
  } catch {
    // Another executor claimed it meanwhile.
  }
}

export function hashDeviceId(raw: string): string {
  return createHash("sha256").update(`wegent-device:${raw.trim()}`).digest("hex").slice(0, 32);
}

/** `<OS> - <hostname>`, e.g. `Darwin - MacBook-Pro.local`. */
export function defaultDeviceName(): string {
  return `${osType()} - ${hostname()}`;
}

/** e.g. `linux-x64`, `darwin-arm64`. */
export function platformName(): string {
  return `${process.platform}-${process.arch}`;
}

export function readHardwareIdOfThisMachine(): string | null {
  try {
    if (process.platform === "linux") {
      return (
        readText("/etc/machine-id")?.trim() || readText("/var/lib/dbus/machine-id")?.trim() || null
      );
    }
    if (process.platform === "darwin") {
      const out = execFileSync("ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"], {
        encoding: "utf8",
        timeout: 5000,
      });
      return /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(out)?.[1] ?? null;
    }
    if (process.platform === "win32") {
      const out = execFileSync(
        "reg",
        ["query", "HKLM\\SOFTWARE\\Microsoft\\Cryptography", "/v", "MachineGuid"],
        { encoding: "utf8", timeout: 5000, windowsHide: true },
      );
      return /MachineGuid\s+REG_SZ\s+(\S+)/.exec(out)?.[1] ?? null;
    }
  } catch {
    // No permission or tool missing: fall back to a MAC address or a random id.
  }
  return null;
}

function macAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) {
      if (!nic.internal && nic.mac && nic.mac !== "00:00:00:00:00:00") return nic.mac;
    }
  }
  return null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
