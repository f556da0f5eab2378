import { describe, expect, it } from "vitest";
import { SECURITY_HEADERS } from "@wegent/protocol";
// In production the assets layer serves the SPA without the Worker: its `_headers` must send
// exactly what the Worker sends.
import assetHeaders from "../public/_headers?raw";

describe("security headers of the pages", () => {
  it("web/public/_headers equals the Worker's SECURITY_HEADERS", () => {
    const lines = assetHeaders
      .split("\n")
      .filter((l) => l.startsWith("  "))
      .map((l) => l.trim());
    const parsed = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
    );
    expect(parsed).toEqual(SECURITY_HEADERS);
  });
});
