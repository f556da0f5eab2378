import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceId } from "@wegent/protocol";
import { defaultDeviceName, hashDeviceId, loadDeviceId, platformName } from "../src/identity";

const homes: string[] = [];
function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), "wegent-id-"));
  homes.push(home);
  return home;
}
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

describe("device identity", () => {
  it("hashes the hardware id and never stores it raw", () => {
    const home = freshHome();
    const raw = "4c4c4544-0051-3510-8051-b4c04f4e3332";
    // The standard home (~/.wegent-executor) keeps the id devices have always had.
    const id = loadDeviceId(home, () => raw, "local", home);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(DeviceId.safeParse(id).success).toBe(true);
    expect(id).toBe(hashDeviceId(raw));
    expect(id).not.toContain("4c4c4544");
    expect(readFileSync(join(home, "device_id"), "utf8").trim()).toBe(id);
  });

  it("is stable: the same home on the same hardware gives the same id, and the cached id wins", () => {
    const home = freshHome();
    const a = loadDeviceId(home, () => "machine-a");
    rmSync(join(home, "device_id"));
    expect(loadDeviceId(home, () => "machine-a")).toBe(a);
    expect(loadDeviceId(freshHome(), () => "machine-b")).not.toBe(a);

    const cloud = loadDeviceId(home, () => "machine-a", "cloud");
    expect(cloud).not.toBe(a);
    // A stored id never changes, whatever the hardware says later.
    expect(loadDeviceId(home, () => "machine-c")).toBe(a);
  });

  it("gives two executors on one machine two ids (npm start's and the README's)", () => {
    const standard = freshHome();
    const npmStart = freshHome();
    const hardware = () => "machine-a";
    const readme = loadDeviceId(standard, hardware, "local", standard);
    const started = loadDeviceId(npmStart, hardware, "local", standard);
    expect(started).not.toBe(readme);
    expect(readme).toBe(hashDeviceId("machine-a"));
    // Each keeps its own: restarts (cache) and a lost cache (derivation) alike.
    expect(loadDeviceId(npmStart, hardware, "local", standard)).toBe(started);
    rmSync(join(npmStart, "device_id"));
    expect(loadDeviceId(npmStart, hardware, "local", standard)).toBe(started);
    // An existing home that already stored the machine-only id keeps it.
    const old = freshHome();
    writeFileSync(join(old, "device_id"), `${hashDeviceId("machine-a")}\n`);
    expect(loadDeviceId(old, hardware, "local", standard)).toBe(hashDeviceId("machine-a"));
  });

  it("falls back when no hardware id is readable", () => {
    const id = loadDeviceId(freshHome(), () => null);
    expect(DeviceId.safeParse(id).success).toBe(true);
  });

  it("names the device <OS> - <hostname> and the platform os-arch", () => {
    expect(defaultDeviceName()).toMatch(/^\S+ - \S+/);
    expect(platformName()).toBe(`${process.platform}-${process.arch}`);
  });
});
