import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Call, call, expectError, signUp, type TestUser } from "./helpers";
import { makeZip, skillMd } from "./zip-writer";

// Issue #26, finding 5: names that cannot all be unpacked into one folder — a file `a` and a
// folder `a/b`, or two names equal after Unicode normalisation or case folding — are refused
// at upload (400 zip_name_clash) instead of failing on every device.

async function upload(user: TestUser, body: Uint8Array): Promise<Call> {
  const response = await SELF.fetch("http://wegent.test/api/skills", {
    method: "POST",
    headers: {
      Cookie: user.cookie,
      "Content-Type": "application/zip",
      Origin: "http://wegent.test",
    },
    body,
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

const md = { path: "SKILL.md", data: skillMd("clash", "Two names, one file.") };
const nfc = "caf\u00e9.txt"; // é precomposed
const nfd = "cafe\u0301.txt"; // e + combining acute

describe("skill zips whose names clash", () => {
  it("refuses each clash with 400 zip_name_clash naming both entries; stores nothing", async () => {
    const user = await signUp();
    const cases: [string, { path: string; data: string }[], string, string][] = [
      [
        "file then folder",
        [
          { path: "a", data: "x" },
          { path: "a/b", data: "y" },
        ],
        '"a/b"',
        '"a"',
      ],
      [
        "folder then file",
        [
          { path: "a/b", data: "y" },
          { path: "a", data: "x" },
        ],
        '"a"',
        '"a"',
      ],
      [
        "file and a deeper folder",
        [
          { path: "docs/guide", data: "x" },
          { path: "docs/guide/intro.md", data: "y" },
        ],
        "docs/guide",
        "docs/guide",
      ],
      [
        "folder entry and file",
        [
          { path: "a/", data: "" },
          { path: "A", data: "x" },
        ],
        '"A"',
        '"a"',
      ],
      [
        "NFC and NFD",
        [
          { path: nfc, data: "x" },
          { path: nfd, data: "y" },
        ],
        nfd,
        nfc,
      ],
      [
        "case only",
        [
          { path: "README.md", data: "x" },
          { path: "readme.md", data: "y" },
        ],
        "readme",
        "README",
      ],
      [
        "NFD folder, NFC file inside another spelling",
        [
          { path: `${nfd}/x`, data: "x" },
          { path: nfc, data: "y" },
        ],
        nfc,
        nfd,
      ],
    ];
    for (const [what, entries, first, second] of cases) {
      const res = await upload(user, await makeZip([md, ...entries]));
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
      expectError(res, 400, "zip_name_clash");
      const message = (res.body as { error: { message: string } }).error.message;
      expect(message, what).toContain(first);
      expect(message, what).toContain(second);
    }
    const list = await call("GET", "/api/skills", { cookie: user.cookie });
    expect((list.body as { skills: unknown[] }).skills).toEqual([]);
  });

  it("still accepts what does not clash: a folder with files, similar but distinct names", async () => {
    const user = await signUp();
    const res = await upload(
      user,
      await makeZip([
        md,
        { path: "a/", data: "" },
        { path: "a/b", data: "x" },
        { path: "a/c/d", data: "y" },
        { path: "ab", data: "z" },
        { path: nfc, data: "é" },
        { path: "cafe.txt", data: "e" },
      ]),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});
