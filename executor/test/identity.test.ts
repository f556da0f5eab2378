import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
    const id = loadDeviceId(home, () => raw);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(DeviceId.safeParse(id).success).toBe(true);
    expect(id).toBe(hashDeviceId(raw));
    expect(id).not.toContain("4c4c4544");
    expect(readFileSync(join(home, "device_id"), "utf8").trim()).toBe(id);
  });

  it("is stable: same hardware gives the same id, and the cached id wins", () => {
    const a = loadDeviceId(freshHome(), () => "machine-a");
    const b = loadDeviceId(freshHome(), () => "machine-a");
    expect(a).toBe(b);
    expect(loadDeviceId(freshHome(), () => "machine-b")).not.toBe(a);

    const home = freshHome();
    const cloud = loadDeviceId(home, () => "machine-a", "cloud");
    expect(cloud).not.toBe(loadDeviceId(freshHome(), () => "machine-a"));
    const first = loadDeviceId(home, () => "machine-a");
    expect(loadDeviceId(home, () => "machine-c")).toBe(first);
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
