// Which permission mode a run uses: the message's, then the user's default, then the device's
// flag; a device that asks is never made to skip checks.
import { describe, expect, it } from "vitest";
import { DEFAULT_RUNTIME_SETTINGS, type PermissionMode } from "@wegent/protocol";
import { runMode } from "../src/runtime/claude/permissions";

const caps = (permissionMode: PermissionMode | null) => ({
  pluginDir: null,
  mcpServers: [],
  runtime: { ...DEFAULT_RUNTIME_SETTINGS, permissionMode },
});

describe("runMode", () => {
  it("takes the message's mode over the user's default", () => {
    expect(
      runMode({ permissionMode: "plan", capabilities: caps("acceptEdits") }, "bypassPermissions"),
    ).toBe("plan");
  });
  it("takes the user's default when the message has none", () => {
    expect(runMode({ capabilities: caps("acceptEdits") }, "bypassPermissions")).toBe("acceptEdits");
  });
  it("falls back to the device's flag", () => {
    expect(runMode({ capabilities: caps(null) }, "default")).toBe("default");
    expect(runMode({}, "acceptEdits")).toBe("acceptEdits");
  });
  it("keeps a device that asks from being told to skip checks", () => {
    expect(runMode({ permissionMode: "bypassPermissions" }, "default")).toBe("default");
    expect(runMode({ capabilities: caps("bypassPermissions") }, "acceptEdits")).toBe("acceptEdits");
  });
});
